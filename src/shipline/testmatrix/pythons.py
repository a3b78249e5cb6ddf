"""Python versions to test on, from a project's ``pyproject.toml`` (pure logic).

Classifiers such as ``Programming Language :: Python :: 3.12`` are what a project claims to
support, so they win; otherwise ``requires-python`` is applied to the CPython lines that are
supported upstream on the day of the plan (``LINES``: released, not past their end of life).

``requires-python`` is read as PEP 440 specifies, for the versions that projects write there
(``>=3.11``, ``~=3.10.2``, ``!=3.12.*``, ``>=3.12.0rc1``). A minor line such as 3.11 is
admitted when *some* final release 3.11.z satisfies every clause: ``>3.11`` admits 3.11
(3.11.1 satisfies it), ``~=3.10.2`` admits only 3.10, and ``<3.13.0a1`` leaves 3.13 out. Tests
run on final releases only, so a pre-, post- or development release in a clause matters only
as the point just below or above its release. Shipline has no dependency on ``packaging``,
hence this small subset.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Line:
    version: str
    released: dt.date  # its x.y.0
    end_of_life: dt.date  # the last day of the month its release PEP names


# From python.org's "Status of Python versions" and each line's release PEP; the plan reads it
# on the day it runs, so a line drops out at its end of life. Add the next line once its
# release PEP gives the date of its x.y.0.
LINES = (
    Line("3.10", dt.date(2021, 10, 4), dt.date(2026, 10, 31)),  # PEP 619
    Line("3.11", dt.date(2022, 10, 24), dt.date(2027, 10, 31)),  # PEP 664
    Line("3.12", dt.date(2023, 10, 2), dt.date(2028, 10, 31)),  # PEP 693
    Line("3.13", dt.date(2024, 10, 7), dt.date(2029, 10, 31)),  # PEP 719
    Line("3.14", dt.date(2025, 10, 7), dt.date(2030, 10, 31)),  # PEP 745
    Line("3.15", dt.date(2026, 10, 1), dt.date(2031, 10, 31)),  # PEP 790
)


def supported(today: dt.date) -> list[str]:
    """The CPython lines released and not past their end of life on ``today``; past the
    table's last end of life, its newest line (an old shipline still plans something)."""
    current = [line.version for line in LINES if line.released <= today <= line.end_of_life]
    return current or [LINES[-1].version]


VERSION = re.compile(r"^3\.\d{1,2}$")
_CLASSIFIER = re.compile(r"^Programming Language :: Python :: (3\.\d+)$")
_CLAUSE = re.compile(
    r"^\s*(?P<operator>~=|==|!=|<=|>=|<|>)\s*(?P<release>[0-9]+(?:\.[0-9]+)*)"
    r"(?P<pre>[-_.]?(?:a|alpha|b|beta|c|rc|pre|preview)[-_.]?[0-9]*)?"
    r"(?P<post>[-_.]?(?:post|rev|r)[-_.]?[0-9]*|-[0-9]+)?"
    r"(?P<dev>[-_.]?dev[-_.]?[0-9]*)?"
    r"(?P<wildcard>\.\*)?\s*$",
    re.IGNORECASE,
)

Release = tuple[int, ...]


class SpecifierError(ValueError):
    pass


@dataclass(frozen=True)
class Clause:
    """One comparison of a specifier set, such as ``>=3.11`` or ``!=3.12.*``."""

    operator: str
    bound: Release
    wildcard: bool  # the trailing ``.*`` of ``==`` and ``!=``
    # -1: a pre- or development release of ``bound``, just below it for any final release;
    # 1: a post-release, just above it
    nudge: int = 0

    def admits(self, release: Release) -> bool:
        """Whether the final release ``release`` satisfies this clause (PEP 440)."""
        if self.operator == "~=":  # ~=3.10.2 is >=3.10.2 together with ==3.10.*
            at_least = (_compare(release, self.bound) or -self.nudge) >= 0
            return at_least and _prefix_match(release, self.bound[:-1])
        if self.wildcard:
            return _prefix_match(release, self.bound) == (self.operator == "==")
        order = _compare(release, self.bound) or -self.nudge
        return {
            "==": order == 0,
            "!=": order != 0,
            "<=": order <= 0,
            ">=": order >= 0,
            "<": order < 0,
            ">": order > 0,
        }[self.operator]


def _compare(left: Release, right: Release) -> int:
    """-1, 0 or 1; missing parts count as zero, so 3.12 equals 3.12.0."""
    length = max(len(left), len(right))
    a, b = _padded(left, length), _padded(right, length)
    return (a > b) - (a < b)


def _prefix_match(release: Release, prefix: Release) -> bool:
    # PEP 440 pads the candidate with zeros before comparing, so 3.12 matches ==3.12.0.*
    return _padded(release, len(prefix))[: len(prefix)] == prefix


def _padded(release: Release, length: int) -> Release:
    return release + (0,) * (length - len(release))


def _key(version: str) -> Release:
    return tuple(int(part) for part in version.split("."))


def _nudge(clause: re.Match[str]) -> int:
    """Where the clause's version lies for final releases: a pre-release (``3.12.0rc1``) or a
    development release (``3.12.0.dev1``) just below its release, a post-release above."""
    if clause["pre"] or (clause["dev"] and not clause["post"]):
        return -1
    return 1 if clause["post"] else 0


def parse_specifier(specifier: str) -> list[Clause]:
    clauses = []
    for text in filter(None, (part.strip() for part in specifier.split(","))):
        match = _CLAUSE.match(text)
        if not match:
            raise SpecifierError(f"cannot read the version clause {text!r}")
        operator, bound, star = match["operator"], match["release"], match["wildcard"]
        nudge = _nudge(match)
        if star and (operator not in ("==", "!=") or nudge):
            raise SpecifierError(
                f"{text!r}: '.*' goes only with == or != and a release, such as ==3.12.*"
            )
        if operator == "~=" and "." not in bound:
            raise SpecifierError(f"{text!r}: ~= needs at least two parts, such as ~=3.11")
        clauses.append(Clause(operator, _key(bound), bool(star), nudge))
    return clauses


def _patch_candidates(line: Release, clauses: Sequence[Clause]) -> set[int]:
    """Patch numbers z that decide whether any release ``line.z`` satisfies all clauses.

    Within one minor line each clause admits a union of ranges of z, and every range starts at
    0, at the clause's own patch number p, or at p + 1 (``>3.11.4`` starts at 5). The smallest
    z satisfying all clauses starts one of those ranges, so checking these points is exact.
    Patch numbers above any real release count: ``>3.11.40`` admits 3.11.
    """
    candidates = {0}
    for clause in clauses:
        bound = _padded(clause.bound, 3)
        if bound[:2] == line:
            candidates.update((bound[2], bound[2] + 1))
    return candidates


def admits_line(version: str, clauses: Sequence[Clause]) -> bool:
    """Whether some release of the minor line ``version`` (``3.12``) satisfies ``clauses``."""
    line = _key(version)
    return any(
        all(clause.admits((*line, patch)) for clause in clauses)
        for patch in _patch_candidates(line, clauses)
    )


def project_versions(pyproject: Mapping[str, Any], today: dt.date) -> list[str]:
    """The minor lines to test on, or [] when the project says nothing about them."""
    project = pyproject.get("project", {})
    if not isinstance(project, Mapping):
        raise SpecifierError("[project] must be a table")
    claimed = _claimed_versions(project)
    requires = _requires_python(project)
    if not requires:
        return claimed
    clauses = parse_specifier(requires)
    tried = claimed or supported(today)
    admitted = [v for v in tried if admits_line(v, clauses)]
    if not admitted:
        source = "the versions in the classifiers" if claimed else "the supported CPython lines"
        raise SpecifierError(
            f"requires-python {requires!r} matches none of {source} ({', '.join(tried)})"
        )
    return admitted


def _claimed_versions(project: Mapping[str, Any]) -> list[str]:
    classifiers = project.get("classifiers", [])
    if not isinstance(classifiers, list) or not all(isinstance(c, str) for c in classifiers):
        raise SpecifierError("project.classifiers must be a list of strings")
    found = {m.group(1) for c in classifiers if (m := _CLASSIFIER.match(c.strip()))}
    return sorted(found, key=_key)


def _requires_python(project: Mapping[str, Any]) -> str:
    requires = project.get("requires-python", "")
    if not isinstance(requires, str):
        raise SpecifierError("project.requires-python must be a string, such as '>=3.11'")
    return requires.strip()
