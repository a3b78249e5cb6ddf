"""pytest's -m expressions, as far as plan compares two: which parts each one requires.

pytest keeps the last -m it reads, and shipline gives the markers input last, so a -m of the
project's own options gives way to it unseen; this says when that changed the selection.
"""

from __future__ import annotations

import re
from collections.abc import Sequence


def set_aside(markers: str, expressions: Sequence[str]) -> str:
    """What the markers input stands in for. pytest keeps the last -m it reads, and shipline
    gives markers last: a -m of the project's options, which would choose the tests otherwise
    (an addopts' ``-m "not stress"``), is set aside unseen. Nothing to say when markers requires
    each part of it too, as ``(not stress) and (not slow)`` does. No expression is suggested:
    which one a layer wants (both, or what the project leaves out) is its own."""
    if not markers or len(expressions) < 2:
        return ""
    if _conjuncts(expressions[-2]) <= _conjuncts(markers):
        return ""
    return (
        f"markers '{markers}' stands in place of the -m '{expressions[-2]}' of the project's "
        "options (addopts, PYTEST_ADDOPTS or args), as pytest keeps the last -m: where the "
        "layer should keep that selection too, join both with 'and' in markers"
    )


_Words = tuple[str, ...]


def _conjuncts(expression: str) -> frozenset[_Words]:
    """What a marker expression requires, split at its top-level ``and``s (none where an
    ``or`` is at the top level, since ``and`` binds tighter), each part as words without the
    parentheses around it whole: spacing and grouping do not tell equal parts apart (``not
    slow``, ``(not  slow)``, ``not (slow)``)."""
    parts: list[list[str]] = [[]]
    depth = 0
    words = _WORD.findall(expression)
    if any(word == "or" for word in _top_level(words)):
        return frozenset({_bare(tuple(words))}) if words else frozenset()
    for word in words:
        depth += (word == "(") - (word == ")")
        if word == "and" and depth == 0:
            parts.append([])
        else:
            parts[-1].append(word)
    return frozenset(_bare(tuple(part)) for part in parts if part)


def _top_level(words: Sequence[str]) -> list[str]:
    """The words outside every parenthesis."""
    outside, depth = [], 0
    for word in words:
        depth += (word == "(") - (word == ")")
        if depth == 0 and word not in ("(", ")"):
            outside.append(word)
    return outside


def _bare(words: _Words) -> _Words:
    """``words`` without the parentheses around them whole; ``not`` of one operand (a name, a
    call such as ``level(arg=1)``, a group, another ``not``) spelt one way, and twice of it
    undone. A loop, not recursion: pytest takes a chain of nots as long as its stack allows."""
    negated = False
    while True:
        while len(words) > 2 and words[0] == "(" and _closes_at_end(words):
            words = words[1:-1]
        if not (len(words) > 1 and words[0] == "not" and _one_operand(words[1:])):
            break
        negated, words = not negated, words[1:]
    if not negated:
        return words
    return ("not", *words) if _atomic(words) else ("not", "(", *words, ")")


def _one_operand(words: _Words) -> bool:
    nots = next((i for i, word in enumerate(words) if word != "not"), len(words))
    words = words[nots:]
    return _atomic(words) or (len(words) > 2 and words[0] == "(" and _closes_at_end(words))


def _atomic(words: _Words) -> bool:
    """A name, or a name called with keyword arguments."""
    if not words or words[0] in _SYNTAX:
        return False
    return len(words) == 1 or (words[1] == "(" and _closes_at_end(words[1:]))


def _closes_at_end(words: _Words) -> bool:
    """Whether the parenthesis that opens ``words`` is the one that closes them."""
    depth = 0
    for index, word in enumerate(words):
        depth += (word == "(") - (word == ")")
        if depth == 0:
            return index == len(words) - 1
    return False


# A quoted keyword value is one word whatever it holds (pytest's strings have no escapes),
# and "=" and "," are words of their own, so spacing in level(arg = 1) tells nothing apart.
_WORD = re.compile(r"\"[^\"]*\"|'[^']*'|[()=,]|[^\s()=,\"']+")
_SYNTAX = ("(", ")", "=", ",", "not", "and", "or")
