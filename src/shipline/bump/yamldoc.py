"""YAML read without expanding it, and edited one scalar at a time in the original text.

The file is composed into nodes (never constructed into Python objects), so aliases stay
shared references: an alias bomb is measured, not expanded. Every edit replaces the exact
character range of one scalar, which keeps comments, quoting, key order, anchors and every
other document byte for byte.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from shipline.errors import UsageError

MAX_EXPANDED_NODES = 100_000
MAX_FILE_CHARS = 5_000_000
_STR_TAG = "tag:yaml.org,2002:str"
_RESOLVER = yaml.resolver.Resolver()
_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./@:+-]*$")
_PROPERTIES = re.compile(r"(?:[&!][^\s]*\s+)+")
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]|\[([^=\]]+)=([^\]]*)\]|(\.)")


@dataclass(frozen=True)
class TextEdit:
    """Replace ``text[start:end]`` with ``replacement``."""

    start: int
    end: int
    replacement: str


def compose(text: str, source: str) -> list[Node]:
    """Every document of ``text`` as a node graph, refusing hostile or malformed YAML."""
    if len(text) > MAX_FILE_CHARS:
        raise UsageError(f"{source} is larger than {MAX_FILE_CHARS} characters; refused")
    loader = yaml.SafeLoader(text)
    documents: list[Node] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                documents.append(node)
    except yaml.YAMLError as error:
        detail = " ".join(str(error).split())
        raise UsageError(f"{source} is not valid YAML: {detail}") from None
    finally:
        loader.dispose()
    for document in documents:
        _check_expansion(document, source)
    return documents


def _check_expansion(root: Node, source: str) -> None:
    """Counts the nodes a full expansion would produce, memoised so the count costs little."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()

    def size(node: Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in in_progress:
            raise UsageError(f"{source} has a recursive alias; refused")
        in_progress.add(key)
        total = 1 + sum(size(child) for child in children(node))
        in_progress.discard(key)
        if total > MAX_EXPANDED_NODES:
            raise UsageError(
                f"{source} would expand to more than {MAX_EXPANDED_NODES} nodes through "
                "its aliases (an alias bomb?); refused without expanding it"
            )
        sizes[key] = total
        return total

    size(root)


def children(node: Node) -> Iterator[Node]:
    if isinstance(node, MappingNode):
        for key, value in node.value:
            yield key
            yield value
    elif isinstance(node, SequenceNode):
        yield from node.value


def mapping_get(node: Node, key: str) -> Node | None:
    if not isinstance(node, MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, ScalarNode) and key_node.value == key:
            return cast(Node, value_node)
    return None


def _aliased(holder_start: int, child: Node) -> bool:
    """True when ``child`` text starts before its holder: it is an alias of an earlier anchor."""
    return bool(child.start_mark.index < holder_start)


def mapping_entry(node: MappingNode, key: str) -> tuple[ScalarNode, Node] | None:
    for key_node, value_node in node.value:
        if isinstance(key_node, ScalarNode) and key_node.value == key:
            return key_node, value_node
    return None


def scalar_text(node: Node | None) -> str | None:
    return node.value if isinstance(node, ScalarNode) else None


def parse_path(path: str) -> list[str | int | tuple[str, str]]:
    """``a.b[0].c`` or ``spec.containers[name=api].image`` as keys, indexes and selectors."""
    parts: list[str | int | tuple[str, str]] = []
    position = 0
    for match in _PATH_PART.finditer(path):
        if match.start() != position:
            break
        key, index, select_key, select_value, _dot = match.groups()
        if key is not None:
            parts.append(key)
        elif index is not None:
            parts.append(int(index))
        elif select_key is not None:
            parts.append((select_key, select_value))
        position = match.end()
    if (
        position != len(path)
        or not parts
        or ".." in path
        or path.startswith(".")
        or path.endswith(".")
    ):
        raise UsageError(
            f"YAML path '{path}' is not understood: expected keys separated by dots, "
            "with [N] indexes or [key=value] selectors, such as image.tag"
        )
    return parts


def resolve_path(root: Node, path: str) -> Node | None:
    """The node at ``path``; refuses paths that pass through an alias (the edit would land on
    the anchor's definition and change every other user of it)."""
    node: Node | None = root
    for part in parse_path(path):
        if node is None:
            return None
        holder = node.start_mark.index
        if isinstance(part, str):
            entry = mapping_entry(node, part) if isinstance(node, MappingNode) else None
            if entry is not None:
                holder = entry[0].end_mark.index
            node = entry[1] if entry is not None else None
        elif isinstance(part, int):
            node = (
                node.value[part]
                if isinstance(node, SequenceNode) and part < len(node.value)
                else None
            )
        else:
            select_key, select_value = part
            node = next(
                (
                    item
                    for item in (node.value if isinstance(node, SequenceNode) else [])
                    if scalar_text(mapping_get(item, select_key)) == select_value
                ),
                None,
            )
        if node is not None and _aliased(holder, node):
            raise UsageError(
                f"YAML path '{path}' reaches its value through an alias; edit the anchor's "
                "definition instead, knowingly"
            )
    return node


def render_like(node: ScalarNode, value: str) -> str:
    """``value`` written in the scalar style ``node`` uses, as long as it stays a string."""
    style = node.style
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    if style == '"' or not _plain_is_string(value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def _plain_is_string(value: str) -> bool:
    if not _PLAIN_SAFE.match(value) or " #" in value or ": " in value:
        return False
    resolved = _RESOLVER.resolve(ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    return bool(resolved == _STR_TAG)


def replace_scalar(text: str, node: Node, value: str, what: str) -> TextEdit:
    if not isinstance(node, ScalarNode):
        raise UsageError(f"{what} is a {_kind(node)}, not a single value")
    if node.style in ("|", ">") or node.start_mark.line != node.end_mark.line:
        raise UsageError(f"{what} spans several lines; only one-line values are edited")
    start = node.start_mark.index
    # An anchor (&name) or tag (!tag) before the value stays; only the value is rewritten.
    prefix = _PROPERTIES.match(text, start, node.end_mark.index)
    if prefix is not None:
        start = prefix.end()
    return TextEdit(start, node.end_mark.index, render_like(node, value))


def apply_edits(text: str, edits: list[TextEdit]) -> str:
    ordered = sorted(edits, key=lambda edit: edit.start)
    for before, after in itertools.pairwise(ordered):
        if after.start < before.end:
            raise UsageError("two edits overlap in one value; refusing an ambiguous change")
    result = text
    for edit in reversed(ordered):
        result = result[: edit.start] + edit.replacement + result[edit.end :]
    return result


def line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "mapping"
    if isinstance(node, SequenceNode):
        return "list"
    return "value"
