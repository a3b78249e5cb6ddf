"""Where a value sits in a YAML file, so errors and annotations point at its line."""

from __future__ import annotations

from collections.abc import Sequence

import yaml


def line_at(node: yaml.Node, path: Sequence[object]) -> int:
    """The 1-based line of the deepest node along a JSON-style ``path`` that exists.

    A mapping entry is placed on its key's line (where a reader looks for it), a sequence
    item on its own line; a path that leaves the document stops at the last node found.
    """
    line: int = node.start_mark.line + 1
    for step in path:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(step):
                    child, line = value, key.start_mark.line + 1
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(step, int)
            and 0 <= step < len(node.value)
        ):
            child = node.value[step]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


def repeated_key(node: yaml.Node) -> tuple[yaml.Node, yaml.Node] | None:
    """The first mapping key, in file order, that repeats an earlier key of its mapping.

    Returned with the earlier key, as (first, repeated). PyYAML keeps the last of two equal
    keys without a word, so a file with one is not what its author thinks it is.
    """
    repeats: list[tuple[yaml.Node, yaml.Node]] = []
    seen: set[int] = set()  # an aliased collection is walked once, however often it is used
    pending: list[yaml.Node] = [node]
    while pending:
        current = pending.pop()
        if not isinstance(current, yaml.CollectionNode) or id(current.value) in seen:
            continue
        seen.add(id(current.value))
        if isinstance(current, yaml.MappingNode):
            keys: dict[tuple[str, str], yaml.Node] = {}
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode):
                    first = keys.setdefault((key.tag, key.value), key)
                    if first is not key:
                        repeats.append((first, key))
                pending.append(value)
        else:
            pending.extend(current.value)
    return min(repeats, key=lambda pair: pair[1].start_mark.index, default=None)
