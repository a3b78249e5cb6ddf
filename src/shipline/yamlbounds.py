"""Bounds on YAML from a checkout, which a pull request's author writes.

Every walk over the data (a schema check, the JSON a policy engine reads, an error that
quotes a value) meets an alias as a copy of what it names. Nine lines of aliases of aliases
name billions of nodes, one long string aliased a hundred thousand times makes gigabytes of
text, and anchors nested inside each other make data deeper than any recursion, though
composing them costs nothing. So the composed document is measured as those walks would see
it, and refused past a bound, before anything walks it. Composing is pure Python here, about
20 s a megabyte, so a register's size is capped before that too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shipline.gha.summary import brief
from shipline.schema_messages import QUOTED_CHARS


@dataclass(frozen=True)
class Bounds:
    """What walks over the data may meet, an alias counted as a copy of what it names."""

    nodes: int
    characters: int  # of scalar values
    depth: int  # levels of nesting: recursive walks (jsonschema, json, repr) stop near 1,000


# A register's bounds (the quarantine and exceptions registers): far above any register
# (100,000 nodes are 8,000 short entries; 2,000,000 characters are 5,000 of 400 each, and a
# register nests 3 levels), far below what aliases can expand to.
REGISTER_CHARACTERS_AT_MOST = 2_000_000
REGISTER = Bounds(nodes=100_000, characters=REGISTER_CHARACTERS_AT_MOST, depth=32)


class TooLargeError(Exception):
    """YAML past a bound; ``what`` says which: "length" (of the file), "nodes", "characters"
    (of values) or "depth". The message says it of the file, the caller names the file."""

    def __init__(self, what: str, most: int) -> None:
        self.what, self.most = what, most
        copies = ", an alias counted as a copy of what it names"
        super().__init__(
            {
                "length": f"has more than {most} characters",
                "nodes": f"has more than {most} YAML nodes{copies}",
                "characters": f"has more than {most} characters of values{copies}",
                "depth": f"nests more than {most} levels deep",
            }[what]
        )


class CountingLoader(yaml.SafeLoader):
    """A SafeLoader that counts the nodes it composes and stops past ``nodes_at_most``
    (``None``: no bound, only the count): composing more would only cost."""

    nodes_at_most: int | None = None
    composed = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self.composed += 1
        if self.nodes_at_most is not None and self.composed > self.nodes_at_most:
            raise TooLargeError("nodes", self.nodes_at_most)
        return super().compose_node(parent, index)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """A value its tag cannot hold (``!!int abc``, ``!!bool maybe``) or a number longer
        than any that is meant as an error on its line: PyYAML raises a bare ValueError,
        KeyError or IndexError, which names no place."""
        refuse_long_number(node)
        try:
            return super().construct_object(node, deep)
        except (yaml.YAMLError, RecursionError, MemoryError):
            raise
        except Exception:
            raise unreadable_value(node) from None


# No register or manifest needs a longer number: PyYAML builds base-60 ones (1:0:0...) in
# quadratic time, and Python prints no int of more than 4,300 digits (an error message would).
NUMBER_CHARACTERS = 100
_NUMBERS = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}


def refuse_long_number(node: yaml.Node) -> None:
    if node.tag in _NUMBERS and isinstance(node.value, str) and len(node.value) > NUMBER_CHARACTERS:
        raise unreadable_value(node)


def refuse_past(documents: Iterable[yaml.Node], bounds: Bounds) -> None:
    """Refuse ``documents`` (one file's) when a walk over all of them would meet more than
    ``bounds``; the walk stops at the first bound passed, so a YAML bomb costs little."""
    nodes = characters = 0
    stack = [(document, 1) for document in documents]
    while stack:
        current, depth = stack.pop()
        nodes += 1
        if nodes > bounds.nodes:
            raise TooLargeError("nodes", bounds.nodes)
        if depth > bounds.depth:
            raise TooLargeError("depth", bounds.depth)
        if isinstance(current, yaml.SequenceNode):
            stack.extend((item, depth + 1) for item in current.value)
        elif isinstance(current, yaml.MappingNode):
            stack.extend((part, depth + 1) for pair in current.value for part in pair)
        else:
            characters += len(current.value)
            if characters > bounds.characters:
                raise TooLargeError("characters", bounds.characters)


def refuse_longer(text: str, most: int) -> None:
    if len(text) > most:
        raise TooLargeError("length", most)


def unreadable_value(node: yaml.Node) -> yaml.MarkedYAMLError:
    """The error for a tagged value that is not one (``!!int abc``, ``!!bool maybe``), on its
    line: PyYAML raises a bare ValueError, KeyError or IndexError, which names no place."""
    tag = node.tag.replace("tag:yaml.org,2002:", "!!")
    shown = brief(repr(node.value), QUOTED_CHARS) if isinstance(node, yaml.ScalarNode) else "this"
    return yaml.constructor.ConstructorError(
        None, None, f"{tag} cannot hold {shown}", node.start_mark
    )


def read_at_most(path: Path, characters: int) -> str:
    """The text of ``path``, read no further than one character past ``characters``: a
    checkout's file can be a link to something endless. Raises OSError, UnicodeDecodeError."""
    with path.open(encoding="utf-8") as handle:
        return handle.read(characters + 1)
