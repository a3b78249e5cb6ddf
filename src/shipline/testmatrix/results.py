"""What one test did in one run, as read from pytest's JUnit XML (pure data)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"
    FLAKY = "flaky"  # failed, then passed on a rerun

    @property
    def failing(self) -> bool:
        return self in (Outcome.FAILED, Outcome.ERROR)

    @property
    def rank(self) -> int:
        """Worse outcomes rank higher, to combine runs of one test across the matrix."""
        return {"skipped": 0, "passed": 1, "flaky": 2, "failed": 3, "error": 4}[self.value]


@dataclass(frozen=True)
class TestResult:
    __test__ = False  # not a pytest test class, despite its name

    nodeid: str
    outcome: Outcome
    seconds: float
    message: str = ""
    details: str = ""
    file: str | None = None  # relative to the project directory
    line: int | None = None
    attempts: int = 1  # 1 + the reruns it took
    # marked xfail: skipped, it is an xfailed test (it failed as expected); passed, an xpassed
    # one (pytest's last line counts both apart from skips and passes)
    xfail: bool = False
    # flaky: its first try ended in an error (in setup or teardown), not a failure, which
    # JUnit tells apart (flakyError against flakyFailure)
    errored_first: bool = False
    # Set only when runs of several matrix cells are combined into one (durations.combine_runs):
    # the mean time of the cells where it passed outright, None when it passed in none. A
    # failure in another cell leaves those times true, and the durations history keeps them.
    passed_seconds: float | None = None
    # Set only when its shard's job ran again (GitHub's re-run, a new run attempt) after it did
    # not pass at first: what it did in which attempt (``attempts`` counts its tries in the first)
    run_attempts: RunAttempts | None = None


@dataclass(frozen=True)
class RunAttempts:
    earlier: int
    was: Outcome  # failed, error or flaky
    newer: int
    now: Outcome  # passed, flaky or skipped
