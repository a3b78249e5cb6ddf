"""The durations and history file carried from run to run (pure logic, JSON in and out).

Format (``version`` 1)::

    {"version": 1,
     "tests": {"tests/test_a.py::test_x":
                 {"seconds": 0.42, "samples": 3, "outcome": "passed", "streak": 3}}}

- ``seconds`` is a rolling mean over the last ``WINDOW`` measured runs (each new sample
  weighs ``1/min(samples, WINDOW)``), so one slow run moves the estimate but does not own it.
- ``outcome`` is the last outcome; a test last skipped is planned as taking no time and its
  ``seconds`` are left as they were.
- ``streak`` counts consecutive merged runs in which the test passed (a rerun pass, i.e.
  flaky, resets it); it tells when a quarantined test is ready to be released.
- ``merge`` keeps only tests collected in the merged run, so deleted and renamed tests drop
  out. Keep one file per test layer (unit, integration, ...): a unit run does not collect
  integration tests and would drop their history.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from shipline.errors import UsageError
from shipline.testmatrix.results import Outcome, TestResult

VERSION = 1
WINDOW = 5


class DurationsFileError(UsageError):
    """A durations file we cannot trust: names the file and line."""

    def __init__(self, path: Path | str, line: int | None, reason: str) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"durations file {where}: {reason}")
        self.path = str(path)
        self.line = line


@dataclass(frozen=True)
class TestHistory:
    seconds: float
    samples: int
    outcome: Outcome
    streak: int

    def to_json(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 6),
            "samples": self.samples,
            "outcome": self.outcome.value,
            "streak": self.streak,
        }


@dataclass(frozen=True)
class History:
    tests: Mapping[str, TestHistory] = field(default_factory=dict)

    @property
    def seconds(self) -> dict[str, float]:
        return {test: entry.seconds for test, entry in self.tests.items()}

    @property
    def skipped(self) -> set[str]:
        return {t for t, e in self.tests.items() if e.outcome is Outcome.SKIPPED}

    def to_text(self) -> str:
        body = {
            "version": VERSION,
            "tests": {t: self.tests[t].to_json() for t in sorted(self.tests)},
        }
        return json.dumps(body, indent=1, sort_keys=False) + "\n"


def load(path: Path, *, display: str | None = None) -> History:
    """The history in ``path``; an absent file is an empty history (the first run)."""
    name = display or str(path)
    if not path.exists():
        return History()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DurationsFileError(name, None, f"cannot be read: {error}") from None
    return parse(text, name)


def parse(text: str, name: str) -> History:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise DurationsFileError(name, error.lineno, f"not JSON: {error.msg}") from None
    if not isinstance(data, dict):
        raise DurationsFileError(name, 1, "expected a JSON object with 'version' and 'tests'")
    if data.get("version") != VERSION:
        raise DurationsFileError(
            name,
            _line_of(text, "version"),
            f"unsupported version {data.get('version')!r}: expected {VERSION}",
        )
    tests = data.get("tests")
    if not isinstance(tests, dict):
        raise DurationsFileError(name, _line_of(text, "tests"), "'tests' must be an object")
    entries: dict[str, TestHistory] = {}
    for test, entry in tests.items():
        try:
            entries[test] = _entry(entry)
        except (TypeError, ValueError, KeyError) as error:
            raise DurationsFileError(
                name, _line_of(text, test), f"entry {test!r} is malformed: {error}"
            ) from None
    return History(entries)


def _entry(entry: Any) -> TestHistory:
    if not isinstance(entry, dict):
        raise TypeError("expected an object with seconds, samples, outcome, streak")
    seconds = entry["seconds"]
    samples = entry.get("samples", 1)
    streak = entry.get("streak", 0)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        raise ValueError(f"seconds must be a number >= 0, got {seconds!r}")
    for label, number in (("samples", samples), ("streak", streak)):
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise ValueError(f"{label} must be a whole number >= 0, got {number!r}")
    outcome = Outcome(entry.get("outcome", "passed"))
    return TestHistory(float(seconds), samples, outcome, streak)


def _line_of(text: str, key: str) -> int | None:
    """The line where ``"key":`` first appears: good enough to point a person at the entry."""
    needle = json.dumps(key) + ":"
    position = text.find(needle)
    if position < 0:
        return None
    return text.count("\n", 0, position) + 1


def combine_runs(results: Iterable[TestResult]) -> dict[str, TestResult]:
    """One result per test when a test ran in several matrix cells: worst outcome, mean time."""
    grouped: dict[str, list[TestResult]] = {}
    for result in results:
        grouped.setdefault(result.nodeid, []).append(result)
    combined: dict[str, TestResult] = {}
    for test, runs in grouped.items():
        worst = max(runs, key=lambda r: r.outcome.rank)
        timed = [r.seconds for r in runs if r.outcome is not Outcome.SKIPPED]
        seconds = sum(timed) / len(timed) if timed else 0.0
        combined[test] = replace(worst, seconds=seconds)
    return combined


def merge(previous: History, results: Mapping[str, TestResult]) -> History:
    """The next history: this run's tests only, their times folded into the rolling mean."""
    merged: dict[str, TestHistory] = {}
    for test, result in results.items():
        before = previous.tests.get(test)
        merged[test] = _next(before, result)
    return History(merged)


def _next(before: TestHistory | None, result: TestResult) -> TestHistory:
    outcome = result.outcome
    if outcome is Outcome.SKIPPED:
        if before is None:
            return TestHistory(0.0, 0, outcome, 0)
        return TestHistory(before.seconds, before.samples, outcome, before.streak)
    streak = ((before.streak if before else 0) + 1) if outcome is Outcome.PASSED else 0
    if before is None or before.samples == 0:
        return TestHistory(result.seconds, 1, outcome, streak)
    samples = before.samples + 1
    weight = 1 / min(samples, WINDOW)
    seconds = before.seconds + (result.seconds - before.seconds) * weight
    return TestHistory(seconds, samples, outcome, streak)
