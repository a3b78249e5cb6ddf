"""Shard manifests and the verdict over results (pure logic, JSON in and out).

Each shard writes ``shard-<i>of<n>[-<label>].json`` beside its JUnit report: what it was
assigned, what each test did (with reruns folded in), its wall time and where its coverage
data lies, and what its share was split from. ``merge`` reads every manifest, checks that no
shard is missing and that the shards of each matrix cell split one collection, and judges.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from shipline.errors import ToolFailedError
from shipline.testmatrix import sharding
from shipline.testmatrix.quarantine import Entry
from shipline.testmatrix.results import Outcome, TestResult

MANIFEST_VERSION = 1
# the plan of a shard that had no durations file (a checksum is hex digits)
NO_DURATIONS_FILE = "none"
# why a report carries no plan: it predates the field
_BY_AN_OLDER_SHIPLINE = (
    "written by a shipline from before reports named the durations file they planned with, "
    "beside reports of a newer one: pin shipline to one commit and run all jobs again"
)
SPLIT_BASES = ("collected", "modules")
_LABEL = re.compile(r"^[A-Za-z0-9_.-]*$")


# Why a shard's report may be missing
NO_REPORT_WHY = (
    "its artifact was not uploaded (an upload step without if: always()) or not downloaded "
    "into the results directory, or the shard job stopped before it judged its tests, e.g. on "
    "bad input or when -x or --maxfail stopped pytest: its log says why"
)


class ManifestError(ToolFailedError):
    """A shard report that is missing or unreadable: the merge cannot vouch for the run."""


def report_stem(shard: int, shards: int, label: str) -> str:
    return f"shard-{shard}of{shards}" + (f"-{label}" if label else "")


def valid_label(label: str) -> bool:
    return bool(_LABEL.fullmatch(label))


@dataclass(frozen=True)
class Split:
    """What a shard's share was split from: every shard job of a matrix cell recomputes the
    plan from its own collection, so merge checks that they all split the same one.

    basis "collected": ``count`` and ``sha256`` (``sharding.fingerprint``) are those of the
    collection the plan split. basis "modules" (keep-together module with a history): each
    shard collected only its own modules, so they are those of the module placement instead.
    ``deselected``: tests of the share that a plugin deselected after the choice (``--lf``).
    """

    basis: str
    count: int
    sha256: str
    deselected: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "basis": self.basis,
            "count": self.count,
            "sha256": self.sha256,
            "deselected": list(self.deselected),
        }

    @classmethod
    def from_json(cls, data: Any) -> Split:
        if data["basis"] not in SPLIT_BASES:
            raise ValueError(f"unknown split basis {data['basis']!r}")
        deselected = tuple(str(t) for t in data.get("deselected", []))
        return cls(str(data["basis"]), int(data["count"]), str(data["sha256"]), deselected)


@dataclass
class Manifest:
    shard: int
    shards: int
    label: str
    python: str
    project: str  # absolute project directory on the shard's machine (for coverage paths)
    tests: list[str]
    results: list[TestResult]
    seconds: float
    junit: list[str] = field(default_factory=list)  # report files, relative to the results dir
    coverage: list[str] = field(default_factory=list)  # coverage data files, relative too
    flaky_fails: bool = False  # the shard ran with flaky: fail, which merge must honour too
    split: Split | None = None  # None only in reports of a shipline from before it was kept
    # unique to one shard run: a merge re-run on reports it already counted (GitHub's "Re-run
    # failed jobs" keeps the artifacts of the jobs that passed) must not count them twice
    report_id: str = ""
    path: str = ""  # the project directory relative to the workspace: merge must run on it too
    # GitHub's run attempt: "Re-run failed jobs" leaves the earlier attempt's report beside the
    # new one, and merge keeps the newest (0: not run by GitHub Actions)
    attempt: int = 0
    # a checksum of the durations file the shard planned with: reports of one plan share it
    # (NO_DURATIONS_FILE: it planned without one; "": a shipline from before this was kept)
    plan: str = ""
    # the quarantine register the shard judged with (workspace-relative) and its entries'
    # checksum: merge must judge with the same one ("": none)
    register: str = ""
    register_sha256: str = ""
    source: str = field(default="", compare=False)  # where merge read it (not written)

    @property
    def stem(self) -> str:
        return report_stem(self.shard, self.shards, self.label)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": MANIFEST_VERSION,
            "shard": self.shard,
            "shards": self.shards,
            "label": self.label,
            "python": self.python,
            "project": self.project,
            "seconds": round(self.seconds, 3),
            "tests": self.tests,
            "junit": self.junit,
            "coverage": self.coverage,
            "flaky": "fail" if self.flaky_fails else "warn",
            "split": self.split.to_json() if self.split else None,
            "id": self.report_id,
            "path": self.path,
            "attempt": self.attempt,
            "plan": self.plan,
            "quarantine": (
                {"path": self.register, "sha256": self.register_sha256} if self.register else None
            ),
            "results": [
                {
                    "nodeid": r.nodeid,
                    "outcome": r.outcome.value,
                    "seconds": round(r.seconds, 6),
                    "message": r.message,
                    "details": r.details,
                    "file": r.file,
                    "line": r.line,
                    "attempts": r.attempts,
                    "xfail": r.xfail,
                    "errored_first": r.errored_first,
                }
                for r in self.results
            ],
        }

    @classmethod
    def from_json(cls, data: Any, source: str) -> Manifest:
        try:
            if data.get("version") != MANIFEST_VERSION:
                raise ValueError(f"unsupported version {data.get('version')!r}")
            register = data.get("quarantine")
            results = [
                TestResult(
                    str(r["nodeid"]),
                    Outcome(r["outcome"]),
                    float(r["seconds"]),
                    str(r.get("message") or ""),
                    str(r.get("details") or ""),
                    r.get("file"),
                    r.get("line"),
                    int(r.get("attempts", 1)),
                    xfail=r.get("xfail") is True,
                    errored_first=r.get("errored_first") is True,
                )
                for r in data["results"]
            ]
            return cls(
                int(data["shard"]),
                int(data["shards"]),
                _label(data.get("label") or ""),
                str(data.get("python") or ""),
                str(data["project"]),
                [str(t) for t in data["tests"]],
                results,
                float(data["seconds"]),
                [_beside(j, "junit") for j in data.get("junit", [])],
                [_beside(c, "coverage") for c in data.get("coverage", [])],
                data.get("flaky") == "fail",
                Split.from_json(data["split"]) if data.get("split") is not None else None,
                str(data.get("id") or ""),
                str(data.get("path") or ""),
                _attempt(data.get("attempt", 0)),
                str(data.get("plan") or ""),
                str(register["path"]) if register else "",
                str(register["sha256"]) if register else "",
            )
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise ManifestError(f"shard report {source} is malformed: {error}") from None


def _label(value: Any) -> str:
    """As run checked it: merge prints labels, and a report is anyone's file."""
    if not isinstance(value, str) or not valid_label(value):
        raise ValueError(f"label must be letters, digits, '.', '_' and '-', not {value!r}")
    return value


def _beside(value: Any, key: str) -> str:
    """A file the report names, which run wrote beside it: nothing outside is merge's to read."""
    path = PurePosixPath(str(value))
    if path.is_absolute() or ".." in path.parts or not path.parts or "\0" in str(value):
        raise ValueError(f"{key} must name a file in the report's directory, not {value!r}")
    return str(value)


def _attempt(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"attempt must be a whole number of 0 or more, not {value!r}")
    return value


def read_manifests(directory: Path) -> list[Manifest]:
    manifests = []
    for path in sorted(directory.rglob("shard-*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ManifestError(f"shard report {path} cannot be read: {error}") from None
        manifest = Manifest.from_json(data, str(path))
        manifest.source = path.relative_to(directory).as_posix()
        manifest_dir = path.parent.relative_to(directory)
        manifest.junit = [(manifest_dir / j).as_posix() for j in manifest.junit]
        manifest.coverage = [(manifest_dir / c).as_posix() for c in manifest.coverage]
        manifests.append(manifest)
    return manifests


def latest_attempts(
    manifests: Sequence[Manifest], cells: int | None = None
) -> tuple[list[Manifest], list[Manifest]]:
    """The reports that stand for each shard, and those of earlier run attempts they replace.

    GitHub's "Re-run failed jobs" runs a failed shard again in a new attempt of the same
    workflow run and keeps the earlier attempt's report beside the new one: a shard's newest
    report stands for it. The plan of the newest attempt is the current one; a "Re-run all jobs"
    that planned again (another shard count, or another durations file) sets every report of
    the older plan aside, so a shard or matrix cell that did not report under the current plan
    is missing, never vouched for by the old one. Reports of one attempt never replace each
    other (two for one shard are refused by ``check_complete``).

    ``cells``, the number of matrix cells of the plan (when merge has its matrix): when the
    newest attempt has reports of that many cells, a cell it has none of is one the plan no
    longer has (a Python line past its end of life by the day of a "Re-run all jobs"), and its
    reports are set aside too.
    """
    if not manifests:
        return [], []
    newest = max(m.attempt for m in manifests)
    plans = {(m.shards, m.plan) for m in manifests if m.attempt == newest}
    planned_cells = {m.label for m in manifests if m.attempt == newest}
    dropped = newest > 0 and cells == len(planned_cells)
    current = [
        m
        for m in manifests
        if (m.shards, m.plan) in plans and (m.label in planned_cells or not dropped)
    ]
    latest: dict[tuple[str, int], int] = {}
    for m in current:
        latest[m.label, m.shard] = max(latest.get((m.label, m.shard), 0), m.attempt)
    kept = [m for m in current if m.attempt == latest[m.label, m.shard]]
    standing = {id(m) for m in kept}
    replaced = [m for m in manifests if id(m) not in standing]
    gone = sorted({m.label for m in replaced} - {m.label for m in kept})
    if gone and not dropped:
        old = next(m for m in replaced if m.label == gone[0])
        raise ManifestError(
            f"matrix cell {gone[0]!r} reported only under another plan than the newest "
            f"attempt's ({old.source}, attempt {old.attempt}): {_why_set_aside(old, plans)}"
            " (or the new plan dropped the cell: give merge the plan's matrix)"
        )
    present = {(m.label, m.shard) for m in kept}
    for m in (m for m in replaced if m.label in planned_cells or not dropped):
        if (m.label, m.shard) not in present and m.shard <= max(
            k.shards for k in kept if k.label == m.label
        ):
            raise ManifestError(
                f"shard {m.shard} of {'matrix cell ' + repr(m.label) if m.label else 'the run'} "
                f"reported only under another plan than the newest attempt's ({m.source}, "
                f"attempt {m.attempt}): {_why_set_aside(m, plans)}"
            )
    return kept, replaced


def _why_set_aside(old: Manifest, plans: set[tuple[int, str]]) -> str:
    """The likely causes of a report standing under no plan of the newest attempt."""
    # a tag such as @v1 that moved between the attempts, or moved back
    if not old.plan and any(plan for _, plan in plans):
        return "it was " + _BY_AN_OLDER_SHIPLINE
    if old.plan and not all(plan for _, plan in plans):
        return "the newer attempt's were " + _BY_AN_OLDER_SHIPLINE
    return (
        "the plan was made again and its jobs did not report since, or the shards did not all "
        "get the plan job's durations file"
    )


@dataclass(frozen=True)
class Expected:
    """What the plan asked for: every matrix cell (a label) runs every shard."""

    cells: int
    shards: int


def check_complete(manifests: Sequence[Manifest], expected: Expected | None) -> None:
    """Refuses reports that cannot stand for one whole run of one plan.

    A merge is the required check: a report twice, reports of another plan, two matrix cells
    under one label, a missing shard or (when the plan's matrix is known) a cell that
    uploaded nothing would each let tests that never ran pass unseen.
    """
    seen: dict[str, Manifest] = {}
    for m in manifests:
        if m.stem in seen:
            raise ManifestError(
                f"two reports for {m.stem}: {seen[m.stem].source} and {m.source} "
                "(a rerun's or another cell's reports under the same label?)"
            )
        seen[m.stem] = m
    counts = sorted({m.shards for m in manifests})
    first = next(m for m in manifests if m.shards == counts[0])
    if len(counts) > 1:
        other = next(m for m in manifests if m.shards != counts[0])
        raise ManifestError(
            f"the reports come from different plans: {first.stem} and {other.stem}; "
            "merge the reports of one plan only"
        )
    if expected and counts != [expected.shards]:
        raise ManifestError(
            f"the reports come from another plan: {first.stem}, where the plan's matrix has "
            f"{expected.shards} shard(s)"
        )
    pythons: dict[str, set[str]] = {}
    for m in manifests:
        pythons.setdefault(m.label, set()).add(".".join(m.python.split(".")[:2]))
    for label, versions in sorted(pythons.items()):
        if len(versions) > 1:
            raise ManifestError(
                f"the reports labelled {label!r} ran on Python {', '.join(sorted(versions))}: "
                "give each matrix cell its own label (label input of run)"
            )
    # one durations file for the whole run: merge writes one, and after a "Re-run failed jobs"
    # only the plan of the newest attempt stands (latest_attempts), so cells planned from
    # files of their own would merge now and be refused on a re-run
    stray = next((m for m in manifests if m.plan != first.plan), None)
    if stray is not None:
        pair = f"{first.stem} (attempt {first.attempt}) and {stray.stem} (attempt {stray.attempt})"
        older = next((m for m in (first, stray) if not m.plan), None)
        if older is not None:  # a tag such as @v1 that moved while the jobs started
            raise ManifestError(
                f"the shards did not all run one shipline: {older.stem} (attempt "
                f"{older.attempt}) was {_BY_AN_OLDER_SHIPLINE}"
            )
        raise ManifestError(
            f"the shards planned with different durations files: {pair}; give every shard "
            "the file the plan job planned with"
        )
    missing = missing_shards(manifests)
    if missing:
        raise ManifestError(
            f"shard report(s) missing, the merge cannot vouch for them: {', '.join(missing)} "
            f"({NO_REPORT_WHY})"
        )
    if expected and len(pythons) != expected.cells:
        raise ManifestError(
            f"the plan's matrix has {expected.cells} cell(s) (Python x OS), the reports "
            f"{len(pythons)} label(s) ({', '.join(sorted(pythons)) or 'none'}): a cell whose "
            "jobs uploaded nothing cannot be vouched for, and each cell needs its own label"
        )
    check_split(manifests)


def check_split(manifests: Sequence[Manifest]) -> None:
    """Refuses a matrix cell whose shards did not split one and the same collection.

    Each shard job computes its share from its own collection; a plugin that changes the
    collection or its order from job to job (pytest-randomly with random parameters, a conftest
    reading the environment) would leave tests that no shard ran, or that two shards ran,
    unseen. The shares must be disjoint and, but for keep-together module with a history
    (where no shard collects the whole suite), add up to exactly the collection.
    """
    cells: dict[str, list[Manifest]] = {}
    for m in manifests:
        cells.setdefault(m.label, []).append(m)
    for label, shards in sorted(cells.items()):
        cell = f"matrix cell {label!r}" if label else "run"
        splits = [_split_of(m) for m in shards]
        _check_same_split(cell, shards, splits)
        shares = [
            frozenset(m.tests).union(split.deselected)
            for m, split in zip(shards, splits, strict=True)
        ]
        _check_disjoint(cell, shards, shares)
        if splits[0].basis == "collected":
            _check_covered(cell, shards, shares, splits[0])


def _check_same_split(cell: str, shards: Sequence[Manifest], splits: Sequence[Split]) -> None:
    first = replace(splits[0], deselected=())
    for m, split in zip(shards, splits, strict=True):
        if replace(split, deselected=()) != first:
            raise ManifestError(
                f"the shards of the {cell} split different collections: {shards[0].stem} "
                f"{_described(splits[0])}, {m.stem} {_described(split)}; a plugin or "
                "conftest changed what each shard job collected, or test ids hold something "
                "that differs from job to job (an absolute path, a random or time-dependent "
                "value: give parametrize ids=); run each shard of a cell on the same checkout "
                "and options"
            )


def _split_of(m: Manifest) -> Split:
    if m.split is None:
        raise ManifestError(
            f"shard report {m.source or m.stem} does not say what its shard split (written by "
            "an older shipline?): run and merge every shard with the same shipline version"
        )
    return m.split


def _described(split: Split) -> str:
    what = "tests collected" if split.basis == "collected" else "tests placed by module"
    return f"{split.count} {what} (sha256 {split.sha256[:12]})"


def _check_disjoint(
    cell: str, shards: Sequence[Manifest], shares: Sequence[frozenset[str]]
) -> None:
    owner: dict[str, Manifest] = {}
    for m, share in zip(shards, shares, strict=True):
        for test in sorted(share):
            if test in owner:
                raise ManifestError(
                    f"the shards of the {cell} overlap: {test} is in {owner[test].stem} and "
                    f"{m.stem}; their jobs split the tests differently"
                )
            owner[test] = m


def _check_covered(
    cell: str, shards: Sequence[Manifest], shares: Sequence[frozenset[str]], split: Split
) -> None:
    union = frozenset().union(*shares)
    if len(union) == split.count and sharding.fingerprint(union) == split.sha256:
        return
    raise ManifestError(
        f"the shards of the {cell} ({', '.join(m.stem for m in shards)}) hold {len(union)} "
        f"test(s) between them, not the {split.count} they split (sha256 "
        f"{sharding.fingerprint(union)[:12]}, not {split.sha256[:12]}): a shard left tests "
        "out or ran tests that were not in the collection"
    )


def missing_shards(manifests: Sequence[Manifest]) -> list[str]:
    """Every (label, shard) that some manifest says should exist but none reports."""
    expected: dict[str, set[int]] = {}
    present: dict[str, set[int]] = {}
    for m in manifests:
        expected.setdefault(m.label, set()).update(range(1, m.shards + 1))
        present.setdefault(m.label, set()).add(m.shard)
    return [
        report_stem(shard, max(expected[label]), label)
        for label in sorted(expected)
        for shard in sorted(expected[label] - present[label])
    ]


@dataclass(frozen=True)
class Verdict:
    failed: list[TestResult]  # failing and not quarantined
    quarantined: list[TestResult]  # failing or flaky, but quarantined
    flaky: list[TestResult]  # passed on rerun, not quarantined
    expired: list[Entry]
    blocking_flaky: bool

    @property
    def passed(self) -> bool:
        return not self.failed and not self.expired and not self.blocking_flaky


def judge(
    results: Iterable[TestResult],
    quarantined: Mapping[str, Entry],
    expired: Sequence[Entry],
    *,
    flaky_fails: bool,
) -> Verdict:
    failed, held, flaky = [], [], []
    for result in results:
        if not (result.outcome.failing or result.outcome is Outcome.FLAKY):
            continue
        if result.nodeid in quarantined:
            held.append(result)
        elif result.outcome is Outcome.FLAKY:
            flaky.append(result)
        else:
            failed.append(result)
    return Verdict(failed, held, flaky, list(expired), flaky_fails and bool(flaky))


def counts(results: Iterable[TestResult]) -> dict[Outcome, int]:
    tally = dict.fromkeys(Outcome, 0)
    for result in results:
        tally[result.outcome] += 1
    return tally


def today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()
