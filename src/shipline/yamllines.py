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
