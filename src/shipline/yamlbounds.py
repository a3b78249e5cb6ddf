"""Bounds on YAML from a checkout, which a pull request's author writes.

Nine lines of aliases of aliases name billions of nodes, and every walk over the data (a
schema check, the JSON a policy engine reads, an error that quotes a value) meets an alias as
a copy of what it names: a node count that counts it so refuses the file before anything walks
it. Composing is pure Python here, about 20 s a megabyte, so a register's size is capped too.
"""

from __future__ import annotations

from pathlib import Path

import yaml

# A register's bounds (the quarantine and exceptions registers): far above any register
# (100,000 nodes are 8,000 short entries; 2,000,000 characters are 5,000 of 400 each), far
# below what nine lines of aliases expand to.
REGISTER_NODES_AT_MOST = 100_000
REGISTER_CHARACTERS_AT_MOST = 2_000_000


class TooLargeError(Exception):
    """YAML past a bound; the message says which ("has more than ..."), the caller the file."""


class CountingLoader(yaml.SafeLoader):
    """A SafeLoader that counts the nodes it composes and stops past ``nodes_at_most``
    (``None``: no bound, only the count): composing more would only cost."""

    nodes_at_most: int | None = None
    composed = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self.composed += 1
        if self.nodes_at_most is not None and self.composed > self.nodes_at_most:
            raise TooLargeError(_more_nodes(self.nodes_at_most))
        return super().compose_node(parent, index)


def refuse_longer(text: str, most: int) -> None:
    if len(text) > most:
        raise TooLargeError(f"has more than {most} characters")


def refuse_expanding(node: yaml.Node, most: int) -> None:
    """Refuse ``node`` past ``most`` nodes, aliases counted as copies: before loading it,
    which copies what merge keys (``<<``) name as it goes."""
    if expands_past(node, most):
        raise TooLargeError(_more_nodes(most))


def _more_nodes(most: int) -> str:
    return f"has more than {most} YAML nodes, an alias counted as a copy of what it names"


def expands_past(node: yaml.Node, most: int) -> bool:
    """Whether ``node`` has more than ``most`` nodes, an alias counted as a copy of what it
    names, as every walk over the data meets it; counting stops past ``most``."""
    count, stack = 0, [node]
    while stack:
        count += 1
        if count > most:
            return True
        current = stack.pop()
        if isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
        elif isinstance(current, yaml.MappingNode):
            stack.extend(part for pair in current.value for part in pair)
    return False


def read_at_most(path: Path, characters: int) -> str:
    """The text of ``path``, read no further than one character past ``characters``: a
    checkout's file can be a link to something endless. Raises OSError, UnicodeDecodeError."""
    with path.open(encoding="utf-8") as handle:
        return handle.read(characters + 1)
