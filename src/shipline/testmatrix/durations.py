"""The durations and history file carried from run to run (pure logic, JSON in and out).

Format (``version`` 1)::

    {"version": 1,
     "reports": ["3f0c9a...", "a81d27..."],
     "tests": {"tests/test_a.py::test_x":
                 {"seconds": 0.42, "recent": [0.42, 0.40, 0.57], "samples": 3,
                  "outcome": "passed", "streak": 3, "held": 2}}}

- ``recent`` holds the times of the last ``WINDOW`` passing runs, oldest first, and
  ``seconds`` (what the planner uses) is their median: one run slowed by a busy runner, or one
  run that drew a quick random input, does not move the plan, while a test that really became
  slower shows it within three runs. (On five recorded runs of a real suite, planning on the
  median, the mean or the fastest of the runs scored within noise of one another in
  benchmarks/sharding; the median is kept for that robustness, not for a measured edge.)
  Failing runs are not added (a test can fail fast); a test that never passed is planned on its
  last failing time. A run in which the test passed in some matrix cells and failed (or was
  flaky) in others adds the time of the cells where it passed: its outcome is the worst one, but
  a test quarantined for failing on one OS keeps measuring on the others. One merged run is one
  sample: the mean time of the cells where the test passed.
- ``slowest_cell`` (optional, absent when 1) is how much longer the last merge's slowest matrix
  cell took than the mean one, on the tests that passed in every cell (kept as it was when
  those took less than half of some cell's time): the plan scales the total by it before it
  sizes shards for ``target``, which the slowest cell's shards must keep to.
- ``outcome`` is the last outcome (the worst over the matrix cells); a test last skipped keeps
  its ``seconds`` and ``recent`` as they were, and is planned on what its skipped run took:
  ``skipped_seconds`` (optional, absent when 0). pytest times a test skipped before it ran (a
  mark, a ``skipif``, an ``xfail`` with ``run=False``) at its setup, about nothing; an ``xfail``
  test runs its whole body, and one that calls ``pytest.skip()`` ran up to there, so it is
  planned on that time. No skip's time enters the median that unknown tests are planned on: it
  says nothing of how long a test that runs takes.
- ``streak`` counts consecutive merged runs in which the test passed (a rerun pass, i.e.
  flaky, resets it).
- ``held`` (optional, absent when 0) counts the consecutive merged runs the test passed while
  it was in the active quarantine register: ``streak`` alone would also count passes from
  before it was quarantined (or from a branch whose history never saw it fail), and a test is
  ready to be released only when the fix has held under quarantine.
- Every number is finite: ``NaN`` and ``Infinity`` are refused on reading and never written,
  so the file stays JSON that any parser reads. A key given twice (a test id, a field of an
  entry) is refused: a JSON parser would silently keep one of the two.
- ``reports`` (optional) lists the ids of the shard reports the last merge read. A merge run
  again on some of the same reports (GitHub's "Re-run failed jobs" re-runs the failed shards and
  the merge, and keeps the reports of the shards that passed; a workflow whose merge restores
  the file the first merge saved reads them twice) leaves those reports' tests as they are: counting them twice would add a second sample of one run and lengthen ``streak``
  and ``held`` with passes that never happened.
- ``merge`` keeps only tests collected in the merged run, so deleted and renamed tests drop
  out. Keep one file per test layer (unit, integration, ...): a unit run does not collect
  integration tests and would drop their history.
"""

from __future__ import annotations

import bisect
import json
import math
import re
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from shipline.errors import FileLineError
from shipline.testmatrix.results import Outcome, TestResult

VERSION = 1
WINDOW = 5


class DurationsFileError(FileLineError):
    """A durations file we cannot trust: names the file and line."""

    kind = "durations file"


@dataclass(frozen=True)
class TestHistory:
    seconds: float
    samples: int
    outcome: Outcome
    streak: int
    recent: tuple[float, ...] = ()
    held: int = 0  # consecutive passing merges while quarantined
    skipped_seconds: float = 0.0  # what its last run took, when that run was skipped

    @property
    def planned_seconds(self) -> float:
        """What the planner counts for it: a test last skipped costs what that skip took."""
        return self.skipped_seconds if self.outcome is Outcome.SKIPPED else self.seconds

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "seconds": round(self.seconds, 6),
            "recent": [round(sample, 6) for sample in self.recent],
            "samples": self.samples,
            "outcome": self.outcome.value,
            "streak": self.streak,
        }
        if self.held:  # optional: files of projects without a register stay as they were
            body["held"] = self.held
        if self.outcome is Outcome.SKIPPED and self.skipped_seconds:  # optional, like held
            body["skipped_seconds"] = round(self.skipped_seconds, 6)
        return body


@dataclass(frozen=True)
class History:
    tests: Mapping[str, TestHistory] = field(default_factory=dict)
    reports: frozenset[str] = frozenset()  # ids of the shard reports the last merge counted
    slowest_cell: float = 1.0  # the last merge's slowest matrix cell over the mean cell

    @property
    def seconds(self) -> dict[str, float]:
        """What the planner counts for each test."""
        return {test: entry.planned_seconds for test, entry in self.tests.items()}

    @property
    def skipped(self) -> set[str]:
        """Tests last skipped: the planner counts what their skip took (``seconds`` says) and
        leaves them out of the median that unknown tests get."""
        return {t for t, e in self.tests.items() if e.outcome is Outcome.SKIPPED}

    def to_text(self) -> str:
        body: dict[str, Any] = {"version": VERSION}
        if self.reports:  # optional: files written before it existed read the same
            body["reports"] = sorted(self.reports)
        if self.slowest_cell > 1:  # optional too: one matrix cell, or cells alike
            body["slowest_cell"] = round(self.slowest_cell, 3)
        body["tests"] = {t: self.tests[t].to_json() for t in sorted(self.tests)}
        # allow_nan=False: NaN/Infinity are not JSON; jq and JavaScript would refuse the file
        return json.dumps(body, indent=1, sort_keys=False, allow_nan=False) + "\n"


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
    data = _json(text, name)
    if not isinstance(data, dict):
        raise DurationsFileError(name, 1, "expected a JSON object with 'version' and 'tests'")
    version = data.get("version")
    if type(version) is not int or version != VERSION:  # in Python, 1.0 and true equal 1 too
        raise DurationsFileError(
            name,
            _line_of(text, name, "version"),
            f"unsupported version {json.dumps(version)}: expected {VERSION}",
        )
    tests = data.get("tests")
    if not isinstance(tests, dict):
        raise DurationsFileError(name, _line_of(text, name, "tests"), "'tests' must be an object")
    entries: dict[str, TestHistory] = {}
    for test, entry in tests.items():
        try:
            entries[test] = _entry(entry)
        except (TypeError, ValueError, KeyError) as error:
            raise DurationsFileError(
                name, _line_of(text, name, "tests", test), f"entry {test!r} is malformed: {error}"
            ) from None
    reports = data.get("reports", [])
    if not isinstance(reports, list) or not all(isinstance(r, str) and r for r in reports):
        raise DurationsFileError(
            name, _line_of(text, name, "reports"), "'reports' must be a list of shard report ids"
        )
    try:
        slowest = _seconds("'slowest_cell'", data.get("slowest_cell", 1.0))
        if slowest < 1:
            raise ValueError(f"'slowest_cell' must be a number >= 1, got {slowest!r}")
    except ValueError as error:
        raise DurationsFileError(name, _line_of(text, name, "slowest_cell"), str(error)) from None
    return History(entries, frozenset(reports), slowest)


class _RepeatedKeyError(ValueError):
    """A key given twice in one object: a JSON parser would silently keep one of the two."""


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) < len(pairs):
        raise _RepeatedKeyError
    return members


def _line_of(text: str, name: str, *keys: str) -> int:
    """The line of the member at ``keys`` (top-level key, then a test id), else line 1.

    Read from the text, so right whatever the escaping of a key or the spacing around its
    colon, and only when an error needs it: reading every position made SQLAlchemy's history
    (23,533 tests) parse in 0.64 s instead of 0.15 s, in every plan, shard and merge job.
    """
    lines = _Lines(text)
    members = _members(text, _skip_space(text, 0), name, lines, "")
    line = 1
    for depth, key in enumerate(keys):
        member = members.get(key)
        if member is None:
            break
        line = member.line
        if depth + 1 < len(keys):
            members = _members(text, member.value_at, name, lines, f" in {key!r}")
    return line


def _repeated_key(text: str, name: str) -> DurationsFileError:
    """The error for the first key given twice, on the line of the second."""
    lines = _Lines(text)
    start = _skip_space(text, 0)
    if text[start] != "{":  # the repeat is inside something that is no durations file at all
        return DurationsFileError(name, 1, "expected a JSON object with 'version' and 'tests'")
    top = _members(text, start, name, lines, "")
    if "tests" in top and text[top["tests"].value_at] == "{":
        tests = _members(text, top["tests"].value_at, name, lines, " in 'tests'")
        for test, member in tests.items():
            if text[member.value_at] == "{":
                _members(text, member.value_at, name, lines, f" in entry {test!r}")
    return DurationsFileError(name, None, "a key is given twice")  # deeper than entries


class _NonFiniteNumberError(ValueError):
    """``NaN``, ``Infinity`` or ``-Infinity``: Python's json reads them, JSON has no such thing."""


def _refuse_constant(constant: str) -> float:
    raise _NonFiniteNumberError(constant)


def _json(text: str, name: str) -> Any:
    try:
        return _decode(text, name, object_pairs_hook=_unique)
    except _RepeatedKeyError:
        # the hook fires as each object closes: a syntax error further on is the one to
        # report, and the scan below that finds the repeat's line needs the whole text valid
        _decode(text, name, object_pairs_hook=None)
        raise _repeated_key(text, name) from None  # _members raises on the first it meets


def _decode(text: str, name: str, object_pairs_hook: Any) -> Any:
    try:
        return json.loads(
            text, parse_constant=_refuse_constant, object_pairs_hook=object_pairs_hook
        )
    except _RepeatedKeyError:
        raise
    except json.JSONDecodeError as error:
        raise DurationsFileError(name, error.lineno, f"not JSON: {error.msg}") from None
    except _NonFiniteNumberError as error:
        raise DurationsFileError(
            name,
            _line_of_constant(text),
            f"not JSON: {error} is not a JSON value (numbers must be finite)",
        ) from None
    except ValueError as error:  # e.g. an integer beyond Python's digit limit
        raise DurationsFileError(name, None, f"not JSON: {error}") from None
    except RecursionError:
        raise DurationsFileError(
            name, None, "not JSON this reader takes: nested too deeply"
        ) from None


# A JSON string, or one of the constants: strings are matched first so that a test id
# containing "NaN" is skipped over.
_STRING_OR_CONSTANT = re.compile(r'"(?:[^"\\]|\\.)*"|(NaN|-?Infinity)', re.DOTALL)


def _line_of_constant(text: str) -> int | None:
    for match in _STRING_OR_CONSTANT.finditer(text):
        if match.group(1):
            return _Lines(text).of(match.start())
    return None


class _Lines:
    """1-based line numbers of positions in a text, counted as the json module counts them."""

    def __init__(self, text: str) -> None:
        self._newlines = [match.start() for match in re.finditer("\n", text)]

    def of(self, position: int) -> int:
        return bisect.bisect_left(self._newlines, position) + 1


@dataclass(frozen=True)
class _Member:
    line: int  # of the member's key
    value_at: int  # where its value starts in the text


_VALUES = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace


def _skip_space(text: str, position: int) -> int:
    match = _SPACE.match(text, position)
    return match.end() if match else position


def _members(text: str, start: int, name: str, lines: _Lines, inside: str) -> dict[str, _Member]:
    """Where each key of the (already validated) JSON object at ``text[start]`` sits.

    Read from the text itself, so a line is right whatever the escaping of a key or the
    spacing around its colon; a key given twice is refused on the line of the second.
    """
    members: dict[str, _Member] = {}
    position = _skip_space(text, start + 1)
    while text[position] != "}":
        line = lines.of(position)
        key, position = _VALUES.raw_decode(text, position)
        if key in members:
            raise DurationsFileError(
                name,
                line,
                f"key {key!r} is given twice{inside} (first on line {members[key].line})",
            )
        value_at = _skip_space(text, _skip_space(text, position) + 1)  # past the colon
        _, position = _VALUES.raw_decode(text, value_at)
        members[key] = _Member(line, value_at)
        position = _skip_space(text, position)
        if text[position] == ",":
            position = _skip_space(text, position + 1)
    return members


def _entry(entry: Any) -> TestHistory:
    if not isinstance(entry, dict):
        raise TypeError("expected an object with seconds, samples, outcome, streak")
    seconds = _seconds("seconds", entry["seconds"])
    samples = entry.get("samples", 1)
    streak = entry.get("streak", 0)
    held = entry.get("held", 0)  # absent in files written before it existed
    for label, number in (("samples", samples), ("streak", streak), ("held", held)):
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
    # absent in files written before it existed: such a skip is planned as taking no time
    skipped_seconds = _seconds("skipped_seconds", entry.get("skipped_seconds", 0))
    return TestHistory(seconds, samples, outcome, streak, times, held, skipped_seconds)


def _seconds(label: str, value: Any) -> float:
    if not isinstance(value, bool) and isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:  # an integer too large for a float
            seconds = math.inf
        if math.isfinite(seconds) and seconds >= 0:  # 1e999 reads as inf
            return seconds
    raise ValueError(f"{label} must be a finite number >= 0, got {value!r}")


def combine_runs(results: Iterable[TestResult]) -> dict[str, TestResult]:
    """One result per test when a test ran in several matrix cells: the worst outcome, the mean
    time of the cells where it was not skipped (of every cell when it was skipped in all), and
    the mean time of the cells where it passed (``passed_seconds``)."""
    grouped: dict[str, list[TestResult]] = {}
    for result in results:
        grouped.setdefault(result.nodeid, []).append(result)
    combined: dict[str, TestResult] = {}
    for test, runs in grouped.items():
        worst = max(runs, key=lambda r: r.outcome.rank)
        ran = [r.seconds for r in runs if r.outcome is not Outcome.SKIPPED]
        passed = [r.seconds for r in runs if r.outcome is Outcome.PASSED]
        combined[test] = replace(
            worst,
            seconds=_mean(ran or [r.seconds for r in runs]),
            passed_seconds=_mean(passed) if passed else None,
            # whichever cell came first: xfailed (or xpassed) in any cell of its outcome
            xfail=any(r.xfail for r in runs if r.outcome is worst.outcome),
        )
    return combined


def slowest_cell(cells: Mapping[str, Iterable[TestResult]]) -> float | None:
    """How much longer the slowest matrix cell took than the mean one, on the tests that
    passed in every cell (as the history times tests: a cell whose tests fail at once is no
    faster); 1.0 for one cell. None when those tests took less than half of some cell's time:
    a broken cell says nothing about speed, nor do a few quick tests, so the last measured
    factor stands. The history keeps the mean over the cells, so a shard count sized for
    ``target`` from it alone would suit an average cell."""
    cells_results = [list(results) for results in cells.values()]
    if len(cells_results) < 2:
        return 1.0
    passed = [
        {r.nodeid: r.seconds for r in results if r.outcome is Outcome.PASSED}
        for results in cells_results
    ]
    everywhere = sorted(set.intersection(*(set(times) for times in passed)))
    totals = [math.fsum(times[test] for test in everywhere) for times in passed]
    spent = [math.fsum(r.seconds for r in results) for results in cells_results]
    if not all(0 < total >= share / 2 for total, share in zip(totals, spent, strict=True)):
        return None
    return max(1.0, max(totals) / (math.fsum(totals) / len(totals)))


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def merge(
    previous: History,
    results: Mapping[str, TestResult],
    *,
    quarantined: frozenset[str] = frozenset(),
    counted_before: Iterable[str] = (),
    overridden: Iterable[str] = (),
    reports: Iterable[str] = (),
) -> History:
    """The next history: this run's tests only, passing times added to their window.

    ``quarantined`` are the ids in the active quarantine register during this run: their
    passes count towards ``held``, and every other test's ``held`` goes back to 0.
    ``counted_before`` are tests of this run that a report an earlier merge already counted
    (``previous.reports``) holds: they keep their entries as they are, also when a report new to
    this merge holds them too (another matrix cell, re-run): that merge counted this run for
    them, and the new cell's result alone, a pass say, would hide the counted cell's failure.
    ``overridden`` are tests such a report holds whose newer attempt ``overrides`` it: one that
    merge counted a run for gets only the newer outcome recorded, no second sample; one it
    recorded skipped (which counted nothing) is counted now.
    ``reports`` are the ids of every shard report of this merge, for the next one to recognise.
    """
    kept = set(counted_before)
    again = set(overridden)
    merged = {test: previous.tests[test] for test in kept if test in previous.tests}
    for test, result in results.items():
        if test in kept:
            continue
        before = previous.tests.get(test)
        if test in again and before is not None and before.outcome is not Outcome.SKIPPED:
            merged[test] = _outcome_only(before, result)
        else:
            merged[test] = _next(before, result, quarantined=test in quarantined)
    return History(merged, frozenset(reports))


def overrides(counted: TestHistory | None, result: TestResult) -> bool:
    """Whether a newer attempt's result changes what an earlier merge recorded of this run
    (``counted``): a failure or a flaky pass must show, and a test that attempt only skipped
    counted nothing then, so a run of it now is this run's. (A pass the newer attempt skips
    stays counted: it did pass.)"""
    if result.outcome.failing or result.outcome is Outcome.FLAKY:
        return True
    skipped_then = counted is not None and counted.outcome is Outcome.SKIPPED
    return skipped_then and result.outcome is not Outcome.SKIPPED


def _outcome_only(before: TestHistory, result: TestResult) -> TestHistory:
    """A counted run's entry after a newer attempt of that run failed the test or found it
    flaky: no second sample of the run, and no pass left standing in ``streak`` or ``held``."""
    return replace(before, outcome=result.outcome, streak=0, held=0)


def _next(before: TestHistory | None, result: TestResult, *, quarantined: bool) -> TestHistory:
    outcome = result.outcome
    held = _held(before, outcome, quarantined=quarantined)
    if outcome is Outcome.SKIPPED:
        skipped_seconds = _measured(result.seconds) or 0.0
        if before is None:
            return TestHistory(0.0, 0, outcome, 0, skipped_seconds=skipped_seconds)
        return replace(before, outcome=outcome, held=held, skipped_seconds=skipped_seconds)
    streak = ((before.streak if before else 0) + 1) if outcome is Outcome.PASSED else 0
    samples = (before.samples if before else 0) + 1
    recent = before.recent if before else ()
    sample = _measured(_passing_time(result))
    if sample is not None:
        recent = (*recent, sample)[-WINDOW:]
    if recent:
        seconds = statistics.median(recent)
    else:
        # never passed yet: its latest failing time is all there is
        latest = _measured(result.seconds)
        seconds = latest if latest is not None else (before.seconds if before else 0.0)
    return TestHistory(seconds, samples, outcome, streak, recent, held)


def _passing_time(result: TestResult) -> float | None:
    """This run's time where the test passed: a failure elsewhere in the matrix (its outcome is
    the worst over the cells) does not make the passing cells' time less true."""
    if result.passed_seconds is not None:
        return result.passed_seconds
    return result.seconds if result.outcome is Outcome.PASSED else None


def _measured(seconds: float | None) -> float | None:
    """A time fit to keep: a negative, infinite or NaN one (from a broken report) is no
    measurement, and the last two are not JSON."""
    return seconds if seconds is not None and 0 <= seconds < math.inf else None


def _held(before: TestHistory | None, outcome: Outcome, *, quarantined: bool) -> int:
    """Passes in a row while quarantined: passes from before the entry existed do not count.

    Like ``streak``, a skip neither breaks nor extends the run.
    """
    if not quarantined:
        return 0
    earlier = before.held if before else 0
    if outcome is Outcome.SKIPPED:
        return earlier
    return earlier + 1 if outcome is Outcome.PASSED else 0
