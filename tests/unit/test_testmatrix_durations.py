"""The durations and history file: strict parsing with file:line errors, and merging."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from shipline.testmatrix import durations
from shipline.testmatrix.junit import read_report
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
            "entry 'bad' is malformed: seconds must be a finite number >= 0",
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
            "entry 'y' is malformed: recent must be a finite number >= 0, got '2'",
        ),
        (
            '{"version": 1,\n "tests": {\n  "z": {"seconds": 1, "recent": 1}}}',
            3,
            "entry 'z' is malformed: recent must be a list of numbers >= 0",
        ),
        # NaN and Infinity: Python's json reads them, JSON (jq, JavaScript) does not
        (
            '{\n "version": 1,\n "tests": {\n  "a": {"seconds": 1},\n'
            '  "b": {"seconds": 1, "recent": [NaN, 0.5]}\n }\n}\n',
            5,
            "not JSON: NaN is not a JSON value (numbers must be finite)",
        ),
        (
            '{\n "version": 1,\n "tests": {\n  "a": {"seconds": Infinity}\n }\n}\n',
            4,
            "not JSON: Infinity is not a JSON value",
        ),
        (  # the constants inside a test id are text, not the bad value three lines down
            '{\n "version": 1,\n "tests": {\n  "t::NaN[\\"Infinity\\"]": {"seconds": 1},\n'
            '  "u": {"seconds": 1,\n\n   "recent": [-Infinity]}\n }\n}\n',
            7,
            "not JSON: -Infinity is not a JSON value",
        ),
        (  # a valid JSON number too large for a float reads as infinity
            '{\n "version": 1,\n "tests": {\n  "a": {"seconds": 1},\n  "b": {"seconds": 1e999}\n }\n}\n',
            5,
            "entry 'b' is malformed: seconds must be a finite number >= 0, got inf",
        ),
        # the line comes from where the key is, however it is written
        (
            '{\n "version": 1,\n "tests": {\n  "tests/test_ü.py::t": {"seconds": 1},\n'
            '  "tests/test_ü.py::u": {"seconds": -1}\n }\n}\n',
            5,
            "entry 'tests/test_ü.py::u' is malformed",
        ),
        (
            '{\n "version": 1,\n "tests": {\n  "t::x" : {"seconds": 1},\n'
            '  "t::y"\t:\n   {"seconds": -1}\n }\n}\n',
            5,
            "entry 't::y' is malformed",
        ),
        (
            '{\n "version": 1,\n "tests": {\n  "t::x": {"seconds": 1},\n'
            '  "t::x": {"seconds": -1}\n }\n}\n',
            5,
            "key 't::x' is given twice in 'tests' (first on line 4)",
        ),
        (  # the same id, once escaped and once not
            '{\n "version": 1,\n "tests": {\n  "\\u00fc": {"seconds": 1},\n'
            '  "ü": {"seconds": 1}\n }\n}\n',
            5,
            "key 'ü' is given twice in 'tests' (first on line 4)",
        ),
        (
            '{\n "version": 1,\n "tests": {\n  "t::x": {\n   "seconds": 1,\n   "seconds": 2}\n }\n}\n',
            6,
            "key 'seconds' is given twice in entry 't::x' (first on line 5)",
        ),
        (
            '{\n "version": 1,\n "tests": {},\n "tests": {"t::x": {"seconds": 1}}\n}\n',
            4,
            "key 'tests' is given twice (first on line 3)",
        ),
        (
            '{"version": 1, "tests": {"t::x": {"seconds": 1, "held": -1}}}',
            1,
            "entry 't::x' is malformed: held must be a whole number >= 0, got -1",
        ),
        (  # a merge conflict resolved by keeping both sides: a key twice, then a stray comma
            '{"version": 1, "tests": {\n "t::a": {"seconds": 1.0, "seconds": 2.0},\n'
            ' "t::b": {"seconds": 1.0},\n}}\n',
            4,
            "not JSON: Expecting property name",
        ),
        (
            '{"version": 1, "tests": {\n "t::a": {"seconds": 1},\n "t::a": {"seconds": 1}}\n',
            4,
            "not JSON: Expecting ',' delimiter",
        ),
        ('{\n "version": true,\n "tests": {}}', 2, "unsupported version true: expected 1"),
        ('{\n "version": 1.0,\n "tests": {}}', 2, "unsupported version 1.0: expected 1"),
        (
            '{"version": 1,\n "reports": "a1",\n "tests": {}}',
            2,
            "'reports' must be a list of shard report ids",
        ),
        (  # "" is the id of no report: reports from before ids existed would match it
            '{"version": 1,\n "reports": [""],\n "tests": {}}',
            2,
            "'reports' must be a list of shard report ids",
        ),
        ('{"version": 1,\n "slowest_cell": 0.5,\n "tests": {}}', 2, "must be a number >= 1"),
        ('{"version": 1,\n "slowest_cell": "2x",\n "tests": {}}', 2, "'slowest_cell' must be"),
        (
            '[{"t::a": 1.0, "t::a": 2.0}]\n',  # another tool's format, with a repeated key
            1,
            "expected a JSON object with 'version' and 'tests'",
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


def test_a_test_that_never_passed_is_planned_on_its_latest_failing_time() -> None:
    # a new test that first failed fast (an import error), and now hangs until a timeout
    history = durations.merge(durations.History(), {"a": result("a", Outcome.FAILED, 0.1)})
    history = durations.merge(history, {"a": result("a", Outcome.ERROR, 30.0)})
    assert history.tests["a"].seconds == 30.0
    assert history.tests["a"].samples == 2
    history = durations.merge(history, {"a": result("a", Outcome.FLAKY, 12.0)})
    assert history.tests["a"].seconds == 12.0
    # a broken report's time is no measurement: the latest real one stays
    history = durations.merge(history, {"a": result("a", Outcome.FAILED, math.nan)})
    assert history.tests["a"].seconds == 12.0
    assert history.tests["a"].recent == ()


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


def test_a_test_xfailed_in_some_cell_is_counted_xfailed_whatever_order_the_cells_came_in() -> None:
    marked = replace(result("a", Outcome.SKIPPED, 0.4), xfail=True)  # xfailed in one cell
    plain = result("a", Outcome.SKIPPED, 0.0)  # skipped by a mark in another
    for cells in ([marked, plain], [plain, marked]):
        assert durations.combine_runs(cells)["a"].xfail is True
    # an xfail of a cell where it did worse is not this outcome's
    failed = result("a", Outcome.FAILED, 0.1)
    assert durations.combine_runs([marked, failed])["a"].xfail is False


def test_a_time_that_is_not_finite_is_never_written() -> None:
    broken = durations.History(
        {"a": durations.TestHistory(math.nan, 1, Outcome.PASSED, 1, (math.nan,))}
    )
    with pytest.raises(ValueError, match="not JSON compliant"):
        broken.to_text()
    # a broken report's infinite time is no measurement: the file stays valid JSON
    history = durations.merge(durations.History(), {"a": result("a", Outcome.PASSED, 2.0)})
    history = durations.merge(history, {"a": result("a", Outcome.PASSED, math.inf)})
    history = durations.merge(history, {"b": result("b", Outcome.FAILED, math.inf)})
    assert history.tests["b"].seconds == 0.0
    assert "Infinity" not in history.to_text()


def test_held_counts_only_passes_while_quarantined() -> None:
    def step(history: durations.History, outcome: Outcome, *, quarantined: bool) -> int:
        ids = frozenset({"a"}) if quarantined else frozenset()
        history = durations.merge(history, {"a": result("a", outcome, 1.0)}, quarantined=ids)
        steps.append(history)
        return history.tests["a"].held

    steps = [durations.History()]
    # 12 passes before the entry is added: none of them counts
    for _ in range(12):
        assert step(steps[-1], Outcome.PASSED, quarantined=False) == 0
    assert steps[-1].tests["a"].streak == 12
    assert step(steps[-1], Outcome.PASSED, quarantined=True) == 1
    assert step(steps[-1], Outcome.SKIPPED, quarantined=True) == 1  # neither breaks nor adds
    assert step(steps[-1], Outcome.PASSED, quarantined=True) == 2
    assert step(steps[-1], Outcome.FLAKY, quarantined=True) == 0
    assert step(steps[-1], Outcome.PASSED, quarantined=True) == 1
    assert step(steps[-1], Outcome.FAILED, quarantined=True) == 0
    assert step(steps[-1], Outcome.PASSED, quarantined=True) == 1
    # out of the register (released, or expired), it starts again from 0
    assert step(steps[-1], Outcome.SKIPPED, quarantined=False) == 0
    assert step(steps[-1], Outcome.PASSED, quarantined=True) == 1
    assert step(steps[-1], Outcome.PASSED, quarantined=False) == 0
    # callers that know no register keep working: nothing is held
    plain = durations.merge(steps[-1], {"a": result("a", Outcome.PASSED, 1.0)})
    assert plain.tests["a"].held == 0


def test_held_is_written_only_when_set_and_old_files_load_without_it() -> None:
    old = '{"version": 1, "tests": {"a": {"seconds": 1.0, "recent": [1.0], "streak": 3}}}'
    history = durations.parse(old, "old.json")
    assert history.tests["a"].held == 0
    assert "held" not in history.to_text()  # files of projects without a register are unchanged
    held = durations.merge(
        history, {"a": result("a", Outcome.PASSED, 1.0)}, quarantined=frozenset({"a"})
    )
    assert json.loads(held.to_text())["tests"]["a"]["held"] == 1
    assert durations.parse(held.to_text(), "new.json") == held


def test_a_file_nested_deeper_than_the_reader_goes_is_malformed_not_a_crash() -> None:
    with pytest.raises(durations.DurationsFileError, match="nested too deeply"):
        durations.parse("[" * 100_000 + "]" * 100_000, "d.json")


def test_a_skipped_run_that_took_time_is_planned_on_that_time(tmp_path: Path) -> None:
    # pytest's own report: an xfail test runs its body; a skip mark stops it before it runs
    (tmp_path / "r.xml").write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.test_a" name="test_xf" time="2.001">'
        '<skipped type="pytest.xfail" message="broken upstream" /></testcase>'
        '<testcase classname="tests.test_a" name="test_mid" time="0.401">'
        '<skipped type="pytest.skip" message="no server">tests/test_a.py:9: no server</skipped>'
        "</testcase>"
        '<testcase classname="tests.test_a" name="test_mark" time="0.000">'
        '<skipped type="pytest.skip" message="m">tests/test_a.py:12: m</skipped></testcase>'
        "</testsuite></testsuites>"
    )
    ids = [f"tests/test_a.py::{name}" for name in ("test_xf", "test_mid", "test_mark")]
    xf, mid, mark = ids
    ran = durations.combine_runs(read_report(tmp_path / "r.xml", ids))
    assert {test: r.outcome for test, r in ran.items()} == dict.fromkeys(ids, Outcome.SKIPPED)
    assert ran[xf].seconds == 2.001  # what the summary's slowest tests show
    before = durations.History({xf: durations.TestHistory(0.5, 3, Outcome.PASSED, 3, (0.5,))})
    history = durations.merge(before, ran)
    assert history.seconds == {xf: 2.001, mid: 0.401, mark: 0.0}
    assert history.skipped == set(ids)  # out of the median that unknown tests get
    # the passing window and the counts are a skip's as before
    entry = history.tests[xf]
    assert (entry.seconds, entry.recent, entry.samples, entry.streak) == (0.5, (0.5,), 3, 3)
    # optional in the file, so that files without it (and readers without it) keep working
    written = json.loads(history.to_text())["tests"]
    assert written[xf]["skipped_seconds"] == 2.001
    assert "skipped_seconds" not in written[mark]
    assert durations.parse(history.to_text(), "d.json") == history
    # once it runs again, its passing times plan it
    history = durations.merge(history, {xf: result(xf, Outcome.PASSED, 0.7)})
    assert history.seconds[xf] == 0.6
    assert "skipped_seconds" not in json.loads(history.to_text())["tests"][xf]


def test_a_skip_in_a_file_without_its_skipped_time_is_planned_as_taking_no_time() -> None:
    text = (
        '{"version": 1, "tests": {"a": {"seconds": 4.0, "recent": [4.0], "samples": 1,'
        ' "outcome": "skipped", "streak": 1}, "b": {"seconds": 1.0, "recent": [1.0],'
        ' "samples": 1, "outcome": "passed", "streak": 1, "skipped_seconds": 3.0}}}'
    )
    history = durations.parse(text, "old.json")
    assert history.skipped == {"a"}
    assert history.seconds == {"a": 0.0, "b": 1.0}  # only a skip's own time counts
    with pytest.raises(durations.DurationsFileError, match="skipped_seconds must be a finite"):
        durations.parse(text.replace("3.0}", '"3"}'), "bad.json")


def test_cells_where_a_test_passed_time_it_when_another_cell_failed() -> None:
    test = "tests/test_a.py::test_a1"
    held = frozenset({test})
    history = durations.merge(durations.History(), {test: result(test, Outcome.PASSED, 0.2)})
    history = durations.merge(history, {test: result(test, Outcome.PASSED, 0.2)}, quarantined=held)
    # it got slower where it passes, while it fails fast on one OS (or is flaky there)
    for worst in (Outcome.FAILED, Outcome.FLAKY):
        combined = durations.combine_runs(
            [
                result(test, Outcome.PASSED, 2.0),  # linux, 3.12
                result(test, Outcome.PASSED, 3.0),  # linux, 3.13
                result(test, Outcome.SKIPPED, 0.0),  # macos: not for it
                result(test, worst, 0.1),  # windows
            ]
        )
        assert combined[test].seconds == 1.7  # the summary's time: every cell that ran it
        history = durations.merge(history, combined, quarantined=held)
        entry = history.tests[test]
        # the worst cell decides the outcome, the streak and what held under quarantine ...
        assert (entry.outcome, entry.streak, entry.held) == (worst, 0, 0)
    # ... while each run adds one sample: the mean of the cells where it passed
    assert entry.recent == (0.2, 0.2, 2.5, 2.5)
    assert entry.seconds == 1.35
    assert entry.samples == 4
    # a cell that only passed on a rerun, or failed, times nothing
    failing_everywhere = durations.combine_runs(
        [result(test, Outcome.FLAKY, 9.0), result(test, Outcome.FAILED, 9.0)]
    )
    assert durations.merge(history, failing_everywhere).tests[test].recent == entry.recent


def test_reports_an_earlier_merge_counted_are_not_counted_again() -> None:
    """GitHub's "Re-run failed jobs" runs the failed shard and merge again; the shards that
    passed keep their reports, which the first merge already counted."""
    first = durations.merge(
        durations.History(),
        {"a": result("a", Outcome.PASSED, 1.0), "b": result("b", Outcome.FAILED, 5.0)},
        quarantined=frozenset({"a"}),
        reports=["shard-a", "shard-b"],
    )
    assert first.reports == {"shard-a", "shard-b"}
    assert durations.parse(first.to_text(), "d.json") == first  # written and read back
    # the re-run: shard-a's report is the same one, shard-b ran again as shard-b2
    again = durations.merge(
        first,
        {"b": result("b", Outcome.PASSED, 4.0)},
        quarantined=frozenset({"a"}),
        counted_before={"a"},
        reports=["shard-a", "shard-b2"],
    )
    assert again.tests["a"] == first.tests["a"]  # one sample, one pass, held once
    assert (again.tests["a"].samples, again.tests["a"].held) == (1, 1)
    assert again.tests["b"].samples == 2 and again.tests["b"].recent == (4.0,)
    assert again.reports == {"shard-a", "shard-b2"}
    # a test a counted report holds keeps its entry, though a new report (another matrix
    # cell, re-run) passed it: the counted cell's failure is this run's outcome for it
    kept = durations.merge(
        first,
        {"b": result("b", Outcome.PASSED, 4.0)},
        counted_before={"a", "b"},
        reports=["shard-a", "shard-b2"],
    )
    assert kept.tests == first.tests
    # a test that only the counted reports hold and the history lacks is not invented
    assert "c" not in durations.merge(first, {}, counted_before={"c"}).tests


def test_a_re_run_that_fails_a_counted_test_records_its_outcome_without_a_second_sample() -> None:
    first = durations.merge(
        durations.History(),
        {"a": result("a", Outcome.PASSED, 1.0)},
        quarantined=frozenset({"a"}),
        reports=["shard-1"],
    )
    # a newer attempt of the same run found the quarantined test flaky
    again = durations.merge(
        first,
        {"a": result("a", Outcome.FLAKY, 3.0)},
        quarantined=frozenset({"a"}),
        overridden={"a"},
        reports=["shard-1", "shard-1-again"],
    )
    before, after = first.tests["a"], again.tests["a"]
    assert (before.held, before.streak, before.samples, before.recent) == (1, 1, 1, (1.0,))
    assert (after.outcome, after.held, after.streak) == (Outcome.FLAKY, 0, 0)
    assert (after.samples, after.recent, after.seconds) == (1, (1.0,), 1.0)


def test_a_re_run_that_runs_a_test_the_counted_attempt_skipped_counts_that_run() -> None:
    first = durations.merge(
        durations.History({"a": durations.TestHistory(2.0, 1, Outcome.PASSED, 1, (2.0,), 1)}),
        {"a": result("a", Outcome.SKIPPED, 0.0)},
        quarantined=frozenset({"a"}),
        reports=["shard-1"],
    )
    assert durations.overrides(first.tests["a"], result("a", Outcome.PASSED, 3.0))
    again = durations.merge(
        first,
        {"a": result("a", Outcome.PASSED, 3.0)},
        quarantined=frozenset({"a"}),
        overridden={"a"},
        reports=["shard-1-again"],
    )
    after = again.tests["a"]
    assert (after.outcome, after.samples, after.recent, after.streak, after.held) == (
        Outcome.PASSED,
        2,
        (2.0, 3.0),
        2,
        2,
    )


@pytest.mark.parametrize(
    ("counted", "now", "overrides"),
    [
        (Outcome.PASSED, Outcome.FAILED, True),
        (Outcome.PASSED, Outcome.ERROR, True),
        (Outcome.PASSED, Outcome.FLAKY, True),
        (Outcome.FAILED, Outcome.FAILED, True),  # the same, recorded again without a sample
        (Outcome.SKIPPED, Outcome.PASSED, True),
        (Outcome.PASSED, Outcome.PASSED, False),
        (Outcome.PASSED, Outcome.SKIPPED, False),  # it did pass in the counted attempt
        (Outcome.SKIPPED, Outcome.SKIPPED, False),
        (Outcome.FAILED, Outcome.PASSED, False),  # the merge has marked it flaky by then
    ],
)
def test_what_a_newer_attempt_overrides(counted: Outcome, now: Outcome, overrides: bool) -> None:
    entry = durations.TestHistory(1.0, 1, counted, 0)
    assert durations.overrides(entry, result("a", now, 1.0)) is overrides


def test_files_without_reports_read_as_none_counted_and_are_written_the_same() -> None:
    old = '{"version": 1, "tests": {"a": {"seconds": 1.0, "recent": [1.0], "streak": 1}}}'
    history = durations.parse(old, "old.json")
    assert history.reports == frozenset()
    assert "reports" not in history.to_text()


def test_the_slowest_matrix_cell_is_measured_on_the_tests_every_cell_ran() -> None:
    fast = [result("a", Outcome.PASSED, 1.0), result("b", Outcome.FAILED, 0.2)]
    slow = [result("a", Outcome.PASSED, 2.0), result("b", Outcome.PASSED, 0.2)]
    # only in one cell, or skipped in one: not compared
    fast += [result("only_here", Outcome.PASSED, 0.3), result("c", Outcome.SKIPPED, 0.0)]
    slow += [result("c", Outcome.PASSED, 0.4)]
    middle = [result("a", Outcome.PASSED, 1.5), result("b", Outcome.PASSED, 0.2)]
    # b failed in one cell (at once, say): only a, which passed in all, compares them
    factor = durations.slowest_cell({"fast": fast, "slow": slow, "middle": middle})
    assert factor == pytest.approx(2.0 / 1.5)
    assert durations.slowest_cell({"one": slow}) == 1.0
    # no test passed in every cell (one cell broke), or those that did took little of a
    # cell's time: nothing is measured
    broken = [result("a", Outcome.FAILED, 0.01), result("b", Outcome.ERROR, 0.0)]
    assert durations.slowest_cell({"fast": fast, "broken": broken}) is None
    quick = [result("a", Outcome.PASSED, 0.01), result("big", Outcome.FAILED, 0.01)]
    slow_big = [result("a", Outcome.PASSED, 0.02), result("big", Outcome.PASSED, 5.0)]
    assert durations.slowest_cell({"quick": quick, "slow_big": slow_big}) is None
    assert durations.slowest_cell({"x": [result("a", Outcome.PASSED, 0.0)]} | {"y": []}) is None
    assert json.loads(durations.History(slowest_cell=factor).to_text())["slowest_cell"] == 1.333
    history = durations.History(slowest_cell=1.25)
    assert durations.parse(history.to_text(), "d.json") == history
    assert "slowest_cell" not in durations.History().to_text()  # one cell: as before
