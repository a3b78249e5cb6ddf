"""The durations and history file: strict parsing with file:line errors, and merging."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipline.testmatrix import durations
from shipline.testmatrix.results import Outcome, TestResult


def result(test: str, outcome: Outcome, seconds: float) -> TestResult:
    return TestResult(test, outcome, seconds)


def test_round_trip_and_absent_file_is_empty(tmp_path: Path) -> None:
    assert durations.load(tmp_path / "none.json").tests == {}
    history = durations.merge(durations.History(), {"t::a": result("t::a", Outcome.PASSED, 0.5)})
    (tmp_path / "d.json").write_text(history.to_text())
    again = durations.load(tmp_path / "d.json")
    assert again == history
    assert json.loads(history.to_text())["version"] == 1


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ('{\n "version": 1,\n "tests": {\n  "a": {"seconds": 1,}\n }\n}\n', 4, "not JSON"),
        ('{\n "version": 7,\n "tests": {}\n}\n', 2, "unsupported version 7"),
        ('{\n "version": 1,\n "tests": []\n}\n', 3, "'tests' must be an object"),
        (
            '{\n "version": 1,\n "tests": {\n  "ok": {"seconds": 1},\n  "bad": {"seconds": -2}\n }\n}\n',
            5,
            "entry 'bad' is malformed: seconds must be a number >= 0",
        ),
        (
            '{"version": 1, "tests": {"x": {"seconds": 1, "outcome": "exploded"}}}',
            1,
            "entry 'x' is malformed",
        ),
        ("[1, 2]", 1, "expected a JSON object"),
        (
            '{"version": 1,\n "tests": {\n  "y": {"seconds": 1, "recent": [1, "2"]}}}',
            3,
            "entry 'y' is malformed: recent must be a number >= 0, got '2'",
        ),
        (
            '{"version": 1,\n "tests": {\n  "z": {"seconds": 1, "recent": 1}}}',
            3,
            "entry 'z' is malformed: recent must be a list of numbers >= 0",
        ),
    ],
)
def test_malformed_files_name_file_and_line(text: str, line: int, reason: str) -> None:
    with pytest.raises(durations.DurationsFileError) as raised:
        durations.parse(text, "ci/durations.json")
    assert raised.value.exit_code == 2
    assert str(raised.value).startswith(f"durations file ci/durations.json:{line}: ")
    assert reason in str(raised.value)


def test_estimate_is_the_median_of_the_last_passing_runs() -> None:
    history = durations.History()
    for seconds in (3.0, 1.0, 2.0):
        history = durations.merge(history, {"a": result("a", Outcome.PASSED, seconds)})
    assert history.tests["a"].seconds == 2.0
    assert history.tests["a"].recent == (3.0, 1.0, 2.0)
    # one run on a busy runner, or one quick random draw, does not move the estimate ...
    slow = durations.merge(history, {"a": result("a", Outcome.PASSED, 60.0)})
    assert slow.tests["a"].seconds == 2.5  # median of 3, 1, 2, 60
    fast = durations.merge(history, {"a": result("a", Outcome.PASSED, 0.01)})
    assert fast.tests["a"].seconds == 1.5
    # ... but a test that really became slower shows it within three runs
    for _ in range(3):
        history = durations.merge(history, {"a": result("a", Outcome.PASSED, 10.0)})
    assert history.tests["a"].seconds == 10.0
    for _ in range(durations.WINDOW):
        history = durations.merge(history, {"a": result("a", Outcome.PASSED, 10.0)})
    entry = history.tests["a"]
    assert entry.recent == (10.0,) * durations.WINDOW
    assert entry.samples == 6 + durations.WINDOW


def test_failing_runs_are_not_timed_unless_nothing_else_is_known() -> None:
    history = durations.merge(durations.History(), {"a": result("a", Outcome.FAILED, 0.01)})
    assert history.tests["a"].seconds == 0.01  # a new test that failed: its only time
    assert history.tests["a"].recent == ()
    history = durations.merge(history, {"a": result("a", Outcome.PASSED, 4.0)})
    assert history.tests["a"].seconds == 4.0  # the fail-fast time is not a sample
    history = durations.merge(history, {"a": result("a", Outcome.ERROR, 0.02)})
    assert history.tests["a"].seconds == 4.0
    assert history.tests["a"].recent == (4.0,)


def test_files_written_before_recent_existed_count_their_seconds_as_one_run() -> None:
    text = '{"version": 1, "tests": {"a": {"seconds": 2.5, "samples": 7}}}'
    entry = durations.parse(text, "old.json").tests["a"]
    assert entry.recent == (2.5,)
    after = durations.merge(
        durations.History({"a": entry}), {"a": result("a", Outcome.PASSED, 3.0)}
    )
    assert after.tests["a"].seconds == 2.75
    assert after.tests["a"].recent == (2.5, 3.0)


def test_deleted_and_renamed_tests_drop_out_skipped_keep_their_time() -> None:
    history = durations.merge(
        durations.History(),
        {
            "old_name": result("old_name", Outcome.PASSED, 4.0),
            "sometimes": result("sometimes", Outcome.PASSED, 2.0),
        },
    )
    history = durations.merge(
        history,
        {
            "new_name": result("new_name", Outcome.PASSED, 4.1),
            "sometimes": result("sometimes", Outcome.SKIPPED, 0.0),
        },
    )
    assert set(history.tests) == {"new_name", "sometimes"}
    assert history.tests["sometimes"].seconds == 2.0
    assert history.skipped == {"sometimes"}


def test_streak_counts_consecutive_clean_passes() -> None:
    history = durations.History()
    for outcome in (Outcome.PASSED, Outcome.PASSED, Outcome.FLAKY, Outcome.PASSED, Outcome.SKIPPED):
        history = durations.merge(history, {"a": result("a", outcome, 1.0)})
    assert history.tests["a"].streak == 1


def test_matrix_cells_combine_to_the_worst_outcome_and_mean_time() -> None:
    combined = durations.combine_runs(
        [
            result("a", Outcome.PASSED, 1.0),
            result("a", Outcome.FLAKY, 3.0),
            result("b", Outcome.SKIPPED, 0.0),
        ]
    )
    assert combined["a"].outcome is Outcome.FLAKY
    assert combined["a"].seconds == 2.0
    assert combined["b"].outcome is Outcome.SKIPPED
