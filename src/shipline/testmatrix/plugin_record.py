"""What shard_plugin saw in the run, applied to the results read from pytest's JUnit report.

The JUnit report keeps one outcome, a time in milliseconds and the failure's text per test.
The plugin's record (``shard_plugin._RunRecord``) adds what that loses: the attempts a rerun
plugin made, the exact times, which skips were only a subtest's, the place of a failure whose
text names none (--tb=line, --tb=no), which tests crashed their pytest-xdist worker, and which
xfailed or xpassed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from shipline.testmatrix.junit import crash_location, project_location
from shipline.testmatrix.results import Outcome, TestResult


def as_recorded(
    results: Sequence[TestResult], record: Mapping[str, Any], directory: Path
) -> list[TestResult]:
    """``results`` as the record shows them; ``directory`` is where pytest ran (resolved)."""
    seconds: Mapping[str, Any] = record.get("seconds", {})
    skipped = set(record.get("skipped", ()))
    xfail = set(record.get("xfail", ()))
    frames: Mapping[str, Any] = record.get("frames", {})
    reruns: Mapping[str, Mapping[str, Any]] = record.get("reruns", {})
    crashed: Mapping[str, Any] = record.get("crashed", {})
    # None: pytest's own count is unknown, and no failure in the JUnit report is overruled
    failed_by_pytest = record.get("failed")
    recorded = []
    for result in results:
        nodeid = result.nodeid
        if nodeid in seconds:
            result = _timed(result, seconds[nodeid])
            if result.outcome is Outcome.SKIPPED and nodeid not in skipped:
                # it ran to the end: JUnit put a subtest's skip in its case
                result = replace(result, outcome=Outcome.PASSED, message="")
        if nodeid in crashed and result.outcome is Outcome.ERROR:
            result = _crashed(result, crashed[nodeid])
        if nodeid in reruns:  # placed by its first failure, not by a later attempt's
            passed = failed_by_pytest is not None and nodeid not in failed_by_pytest
            result = _with_first_failure(result, reruns[nodeid], directory, passed_at_last=passed)
            if nodeid in crashed and result.outcome.failing:
                result = _then_crashed(result, str(crashed[nodeid]["message"]))
        elif nodeid in frames:
            result = _placed(result, frames[nodeid], directory)
        if nodeid in xfail and result.outcome in (Outcome.PASSED, Outcome.SKIPPED):
            result = replace(result, xfail=True)  # as judged: a rerun may have failed it
        recorded.append(result)
    return recorded


def _timed(result: TestResult, seconds: Any) -> TestResult:
    exact = float(seconds)
    return replace(result, seconds=exact) if 0 <= exact < math.inf else result


def _crashed(result: TestResult, crash: Mapping[str, Any]) -> TestResult:
    """A test whose pytest-xdist worker died under it, which JUnit files as an error "failed on
    setup with ...": it crashed in some phase, and pytest's summary says it failed (an error
    only when a fixture had errored before). JUnit knows no place for the crash; it goes where
    the test is defined, where pytest started it (a base class's file, say)."""
    said = str(crash["message"])
    # the last: the test's own failure, before it, may quote anything
    before, junit_words, after = result.message.rpartition(f'failed on setup with "{said}"')
    if not junit_words:  # not what pytest's JUnit writes: leave it
        return result
    outcome = Outcome.ERROR if crash.get("error") else Outcome.FAILED
    file, line = result.file, result.line
    if line is None and isinstance(crash.get("line"), int):
        file, line = crash.get("file") or file, crash["line"]
    return replace(result, outcome=outcome, message=f"{before}{said}{after}", file=file, line=line)


def _then_crashed(result: TestResult, said: str) -> TestResult:
    """A rerun test shown with its first failure, whose worker crashed for good (a crash ends
    the test under --dist each, where it cannot run again): the crash is why it failed."""
    if said in result.message:
        return result
    return replace(result, message=f"{result.message}; then {said}")


def _with_first_failure(
    result: TestResult, rerun: Mapping[str, Any], directory: Path, *, passed_at_last: bool
) -> TestResult:
    """``result`` judged on all the attempts a plugin (pytest-rerunfailures) made: its report
    shows only the last one. A test that passed only on a rerun is flaky; one that failed every
    time stays failed; one that was skipped on the rerun failed, as shipline's own reruns judge
    it (a skip is no pass; under pytest-xdist's --dist each, a skip by a worker that had not
    failed it is no such skip); one whose report holds an earlier attempt's failure is flaky when
    pytest's own summary did not count it failed (``passed_at_last``). It is shown with its
    first failure (message, traceback, place), as shipline's own reruns show a test: the last
    attempt may have failed differently."""
    first = str(rerun["message"])
    failing = Outcome.ERROR if rerun.get("error") else Outcome.FAILED
    # under pytest-xdist's --dist each, a skip by one worker may follow no failure there
    then_skipped = result.outcome is Outcome.SKIPPED and rerun.get("then_skipped", True)
    if result.outcome is Outcome.PASSED:
        outcome = Outcome.FLAKY
    elif then_skipped:
        outcome = failing
    elif passed_at_last:
        # JUnit keeps an earlier attempt's failed subtest in the test's case (or another
        # worker's skip): pytest's own summary, which the rerun plugin corrected, has no failure
        outcome = Outcome.FLAKY
    else:
        outcome = failing if result.outcome is Outcome.SKIPPED else result.outcome
    message = first
    if then_skipped:
        how = "errored" if failing is Outcome.ERROR else "failed"
        message = f"{how} ({first}), then skipped on a rerun: {result.message}"
    details = str(rerun.get("details", "")) or result.details
    defined = rerun.get("defined")
    file, line = (
        crash_location(details, directory)
        or _frame_place(rerun.get("frame"), directory)
        or (tuple(defined) if defined else None)
        or (result.file, result.line)
    )
    return replace(
        result,
        outcome=outcome,
        attempts=1 + int(rerun["reruns"]),
        errored_first=outcome is Outcome.FLAKY and failing is Outcome.ERROR,
        message=message,
        details=details,
        file=file,
        line=line,
    )


def _placed(result: TestResult, frame: Sequence[Any], directory: Path) -> TestResult:
    """A failure whose text names no frame of the project's (--tb=line, --tb=no), placed at
    the frame the plugin took from the exception; otherwise it stays on the test's def line."""
    if result.outcome not in (Outcome.FAILED, Outcome.ERROR, Outcome.FLAKY):
        return result
    if crash_location(result.details, directory) is not None:
        return result
    place = _frame_place(frame, directory)
    if place is None:
        return result
    return replace(result, file=place[0], line=place[1])


def _frame_place(frame: Sequence[Any] | None, directory: Path) -> tuple[str, int] | None:
    """The plugin's frame of a failure, [absolute path, line], as a place in the project."""
    if not frame:
        return None
    return project_location(str(frame[0]), int(frame[1]), directory)
