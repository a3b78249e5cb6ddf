"""The durations and history file carried from run to run (pure logic, JSON in and out).

Format (``version`` 1)::

    {"version": 1,
     "tests": {"tests/test_a.py::test_x":
                 {"seconds": 0.42, "recent": [0.42, 0.40, 0.57], "samples": 3,
                  "outcome": "passed", "streak": 3}}}

- ``recent`` holds the times of the last ``WINDOW`` passing runs, oldest first, and
  ``seconds`` (what the planner uses) is their median: one run slowed by a busy runner, or one
  run that drew a quick random input, does not move the plan, while a test that really became
  slower shows it within three runs. (On five recorded runs of a real suite, planning on the
  median, the mean or the fastest of the runs scored within noise of one another in
  benchmarks/sharding; the median is kept for that robustness, not for a measured edge.)
  Failing runs are not added (a test can fail fast); a test that never passed is planned on its
  last failing time.
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
import statistics
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
    recent: tuple[float, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 6),
            "recent": [round(sample, 6) for sample in self.recent],
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
    seconds = _seconds("seconds", entry["seconds"])
    samples = entry.get("samples", 1)
    streak = entry.get("streak", 0)
    for label, number in (("samples", samples), ("streak", streak)):
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise ValueError(f"{label} must be a whole number >= 0, got {number!r}")
    recent = entry.get("recent")
    if recent is None:
        # written before ``recent`` existed: its ``seconds`` stand for one measured run
        times: tuple[float, ...] = (seconds,) if samples else ()
    elif isinstance(recent, list):
        times = tuple(_seconds("recent", value) for value in recent)[-WINDOW:]
    else:
        raise ValueError(f"recent must be a list of numbers >= 0, got {recent!r}")
    outcome = Outcome(entry.get("outcome", "passed"))
    return TestHistory(seconds, samples, outcome, streak, times)


def _seconds(label: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{label} must be a number >= 0, got {value!r}")
    return float(value)


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
    """The next history: this run's tests only, passing times added to their window."""
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
        return replace(before, outcome=outcome)
    streak = ((before.streak if before else 0) + 1) if outcome is Outcome.PASSED else 0
    samples = (before.samples if before else 0) + 1
    recent = before.recent if before else ()
    if outcome is Outcome.PASSED:
        recent = (*recent, result.seconds)[-WINDOW:]
    if recent:
        seconds = statistics.median(recent)
    elif before is not None and before.samples:
        seconds = before.seconds
    else:
        seconds = result.seconds  # never passed yet: its failing time is all there is
    return TestHistory(seconds, samples, outcome, streak, recent)
