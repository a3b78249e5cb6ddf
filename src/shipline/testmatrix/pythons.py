"""Python versions to test on, from a project's ``pyproject.toml`` (pure logic).

Classifiers such as ``Programming Language :: Python :: 3.12`` are what a project claims to
support, so they win; otherwise ``requires-python`` is applied to the CPython versions that
are currently supported upstream (``SUPPORTED``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

SUPPORTED = ("3.10", "3.11", "3.12", "3.13", "3.14")
VERSION = re.compile(r"^3\.\d{1,2}$")
_CLASSIFIER = re.compile(r"^Programming Language :: Python :: (3\.\d+)$")
_CLAUSE = re.compile(r"^\s*(~=|==|!=|<=|>=|<|>)\s*(\d+(?:\.\d+)*)(\.\*)?\s*$")


class SpecifierError(ValueError):
    pass


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _padded(version: tuple[int, ...], length: int) -> tuple[int, ...]:
    return version + (0,) * (length - len(version))


def satisfies(version: str, specifier: str) -> bool:
    """Whether a minor version (``3.12``) can satisfy ``specifier`` (``>=3.11,<3.14``)."""
    for clause in filter(None, (c.strip() for c in specifier.split(","))):
        match = _CLAUSE.match(clause)
        if not match:
            raise SpecifierError(f"cannot read the version clause {clause!r}")
        operator, bound_text, star = match.groups()
        bound = _key(bound_text)
        minor = _key(version)
        # compare on major.minor: the minor line 3.11 satisfies ">=3.11.4" with later patches
        bound2, minor2 = _padded(bound, 2)[:2], _padded(minor, 2)[:2]
        ok = {
            ">=": minor2 >= bound2,
            ">": minor2 > bound2 or (minor2 == bound2 and len(bound) > 2),
            "<=": minor2 <= bound2,
            "<": minor2 < bound2,
            "==": minor2 == bound2,
            "!=": not (minor2 == bound2 and (star or len(bound) <= 2)),
            "~=": minor2 >= bound2 and minor2[0] == bound2[0],
        }[operator]
        if not ok:
            return False
    return True


def project_versions(pyproject: Mapping[str, Any]) -> list[str]:
    project = pyproject.get("project") or {}
    classifiers: Iterable[str] = project.get("classifiers") or []
    claimed = sorted(
        {m.group(1) for c in classifiers if (m := _CLASSIFIER.match(c.strip()))}, key=_key
    )
    requires = str(project.get("requires-python") or "").strip()
    if claimed:
        return [v for v in claimed if not requires or satisfies(v, requires)]
    if requires:
        return [v for v in SUPPORTED if satisfies(v, requires)]
    return []
