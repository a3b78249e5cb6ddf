"""Shard manifests, missing shards and the verdict."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from shipline.testmatrix import report, sharding
from shipline.testmatrix.quarantine import Entry
from shipline.testmatrix.results import Outcome, TestResult


def manifest(shard: int, shards: int, label: str = "", python: str = "3.12.4") -> report.Manifest:
    """Shard ``shard`` of a plan that gave test ``t<i>`` to shard i."""
    result = TestResult(f"t{shard}", Outcome.FLAKY, 1.5, "boom", "details", "tests/t.py", 3, 2)
    made = report.Manifest(
        shard, shards, label, python, "/ws/proj", [f"t{shard}"], [result], 2.0, [f"s{shard}.xml"]
    )
    made.split = split_of([f"t{i}" for i in range(1, shards + 1)])
    made.source = f"{label or 'x'}/{made.stem}.json"
    return made


def split_of(collected: list[str], deselected: tuple[str, ...] = ()) -> report.Split:
    return report.Split("collected", len(collected), sharding.fingerprint(collected), deselected)


def test_manifests_round_trip_through_json(tmp_path: Path) -> None:
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "shard-1of1.json").write_text(json.dumps(manifest(1, 1).to_json()))
    (loaded,) = report.read_manifests(tmp_path)
    assert loaded.results == manifest(1, 1).results
    assert loaded.junit == ["nested/s1.xml"]  # relative to the results directory


def test_an_xfail_mark_travels_in_a_shard_s_report(tmp_path: Path) -> None:
    made = manifest(1, 1)
    made.results = [TestResult("t1", Outcome.SKIPPED, 0.5, xfail=True)]
    (tmp_path / "shard-1of1.json").write_text(json.dumps(made.to_json()))
    (loaded,) = report.read_manifests(tmp_path)
    assert loaded.results[0].xfail is True
    older = made.to_json()
    del older["results"][0]["xfail"]  # from a shipline before it was kept: no xfail
    (tmp_path / "shard-1of1.json").write_text(json.dumps(older))
    (loaded,) = report.read_manifests(tmp_path)
    assert loaded.results[0].xfail is False


def test_a_shard_runs_id_travels_in_its_report(tmp_path: Path) -> None:
    made = manifest(1, 1)
    made.report_id = "9f2c"
    (tmp_path / "shard-1of1.json").write_text(json.dumps(made.to_json()))
    assert [m.report_id for m in report.read_manifests(tmp_path)] == ["9f2c"]


def test_the_attempt_and_register_a_shard_ran_with_travel_in_its_report(tmp_path: Path) -> None:
    made = manifest(1, 1)
    made.attempt, made.plan = 3, "cd34"
    made.register, made.register_sha256 = ".github/q.yml", "ab12"
    (tmp_path / "shard-1of1.json").write_text(json.dumps(made.to_json()))
    (loaded,) = report.read_manifests(tmp_path)
    assert (loaded.attempt, loaded.plan) == (3, "cd34")
    assert (loaded.register, loaded.register_sha256) == (".github/q.yml", "ab12")
    bare = manifest(1, 1).to_json()
    del bare["attempt"], bare["plan"], bare["quarantine"]  # from before these were kept
    (tmp_path / "shard-1of1.json").write_text(json.dumps(bare))
    (loaded,) = report.read_manifests(tmp_path)
    assert (loaded.attempt, loaded.plan, loaded.register, loaded.register_sha256) == (0, "", "", "")


def attempt(made: report.Manifest, number: int) -> report.Manifest:
    made.attempt = number
    made.source = f"{made.source}@{number}"
    return made


def sources(manifests: list[report.Manifest]) -> list[str]:
    return sorted(m.source for m in manifests)


def test_a_shard_run_again_in_a_later_attempt_replaces_its_earlier_report() -> None:
    # "Re-run failed jobs": shard 2 of cell a failed in attempt 1 and ran again in attempt 2;
    # shard 1 and cell b passed in attempt 1 and stand as they are
    first = [attempt(m, 1) for m in whole_run(["a", "b"])]
    again = attempt(manifest(2, 2, "a"), 2)
    kept, replaced = report.latest_attempts([again, *first])
    assert sources(replaced) == ["a/shard-2of2-a.json@1"]
    assert sources(kept) == sorted(
        [
            "a/shard-2of2-a.json@2",
            "a/shard-1of2-a.json@1",
            "b/shard-1of2-b.json@1",
            "b/shard-2of2-b.json@1",
        ]
    )
    report.check_complete(kept, report.Expected(cells=2, shards=2))


def planned(made: report.Manifest, number: int, durations: str) -> report.Manifest:
    made.plan = durations  # the checksum of the durations file the shard planned with
    return attempt(made, number)


@pytest.mark.parametrize(
    ("old_shards", "old_plan"), [(3, "first"), (2, "earlier")], ids=["other count", "other file"]
)
def test_a_re_run_that_planned_again_sets_the_old_plans_reports_aside(
    old_shards: int, old_plan: str
) -> None:
    # "Re-run all jobs" after the history changed: the plan ran again, with another shard
    # count or the same count from another durations file
    old = [planned(manifest(s, old_shards, "a"), 1, old_plan) for s in range(1, old_shards + 1)]
    new = [planned(manifest(s, 2, "a"), 2, "newer") for s in (1, 2)]
    kept, replaced = report.latest_attempts([*old, *new])
    assert sources(replaced) == sources(old)
    assert sources(kept) == sources(new)
    # a shard of the new plan that reported nothing is missing, not filled from the old plan
    with pytest.raises(
        report.ManifestError,
        match=r"shard 2 of matrix cell 'a' reported only under another plan than the newest "
        r"attempt's \(a/shard-2of\d-a\.json@1, attempt 1\): the plan was made again",
    ):
        report.latest_attempts([*old, new[0]])
    # nor when the old plan had no such shard
    kept, _ = report.latest_attempts([*old[:1], new[0]])
    with pytest.raises(report.ManifestError, match=r"missing.*shard-2of2-a"):
        report.check_complete(kept, None)


def test_a_matrix_cell_that_did_not_report_under_the_new_plan_is_refused() -> None:
    old = [planned(manifest(s, 2, label), 1, "first") for label in "ab" for s in (1, 2)]
    new = [planned(manifest(s, 2, "a"), 2, "newer") for s in (1, 2)]
    with pytest.raises(
        report.ManifestError,
        match=r"matrix cell 'b' reported only under another plan than the newest attempt's "
        r"\(b/shard-1of2-b\.json@1, attempt 1\)",
    ):
        report.latest_attempts([*old, *new])
    # the same plan run again ("Re-run failed jobs" of cell a only): cell b's reports stand
    same = [planned(manifest(s, 2, "a"), 2, "first") for s in (1, 2)]
    kept, replaced = report.latest_attempts([*old, *same])
    assert sources(replaced) == sources(old[:2])
    assert sources(kept) == sources([*same, *old[2:]])


@pytest.mark.parametrize("plan_now", ["first", "newer"], ids=["same file", "another file"])
def test_a_cell_the_new_plan_dropped_is_set_aside_given_the_plans_matrix(plan_now: str) -> None:
    # "Re-run all jobs" a day after Python 3.10's end of life: the plan has one cell fewer
    old = [
        planned(manifest(s, 2, cell), 1, "first") for cell in ("py3.10", "py3.11") for s in (1, 2)
    ]
    new = [planned(manifest(s, 2, "py3.11"), 2, plan_now) for s in (1, 2)]
    kept, replaced = report.latest_attempts([*old, *new], cells=1)
    assert sources(kept) == sources(new)
    assert sources(replaced) == sources(old)
    report.check_complete(kept, report.Expected(cells=1, shards=2))


def test_a_cell_of_the_new_plan_that_did_not_report_is_not_taken_for_a_dropped_one() -> None:
    old = [
        planned(manifest(s, 2, cell), 1, "first") for cell in ("py3.10", "py3.11") for s in (1, 2)
    ]
    new = [planned(manifest(s, 2, "py3.11"), 2, "newer") for s in (1, 2)]
    for cells in (None, 2):
        with pytest.raises(report.ManifestError, match=r"matrix cell 'py3\.10' reported only"):
            report.latest_attempts([*old, *new], cells=cells)


def test_shards_that_planned_with_different_durations_files_are_refused() -> None:
    # a workflow whose shard jobs each restore the durations themselves, not the plan's file
    shards = [planned(manifest(1, 2, "a"), 2, "x"), planned(manifest(2, 2, "a"), 1, "y")]
    with pytest.raises(
        report.ManifestError,
        match=r"the shards planned with different durations files: "
        r"shard-1of2-a \(attempt 2\) and shard-2of2-a \(attempt 1\)",
    ):
        report.check_complete(shards, None)


def test_matrix_cells_that_planned_with_files_of_their_own_are_refused_in_any_attempt() -> None:
    # each cell restores its own history: a re-run of one cell's job would set the others'
    # reports aside, so the first attempt is refused as well, not only its re-run
    cells = [planned(manifest(s, 2, cell), 1, f"file-{cell}") for cell in "ab" for s in (1, 2)]
    kept, _ = report.latest_attempts(cells)
    with pytest.raises(
        report.ManifestError,
        match=r"the shards planned with different durations files: shard-1of2-a \(attempt 1\) "
        r"and shard-1of2-b \(attempt 1\)",
    ):
        report.check_complete(kept, report.Expected(cells=2, shards=2))
    again = planned(manifest(2, 2, "a"), 2, "file-a")
    with pytest.raises(report.ManifestError, match=r"matrix cell 'b' reported only under"):
        report.latest_attempts([*cells, again])


def test_a_shard_that_planned_without_a_file_is_not_taken_for_an_older_shipline() -> None:
    # attempt 1's shards restored no history; the re-run shard restored the first merge's
    old = [planned(manifest(s, 2, "a"), 1, report.NO_DURATIONS_FILE) for s in (1, 2)]
    again = planned(manifest(2, 2, "a"), 2, "newer")
    with pytest.raises(report.ManifestError, match=r"shard 1 of .*: the plan was made again") as e:
        report.latest_attempts([*old, again])
    assert "shipline from before" not in str(e.value)


def test_shards_of_an_older_and_a_newer_shipline_in_one_attempt_are_named_so() -> None:
    shards = [planned(manifest(1, 2, "a"), 1, ""), planned(manifest(2, 2, "a"), 1, "x")]
    with pytest.raises(
        report.ManifestError,
        match=r"the shards did not all run one shipline: shard-1of2-a \(attempt 1\) was "
        r"written by a shipline from before reports named the durations file",
    ):
        report.check_complete(shards, None)


def test_a_re_run_by_an_older_shipline_is_named_as_the_cause() -> None:
    # the @v1 tag moved back between the attempts: the re-run shard wrote no plan
    old = [planned(manifest(s, 2, "a"), 1, "first") for s in (1, 2)]
    again = planned(manifest(2, 2, "a"), 2, "")
    with pytest.raises(
        report.ManifestError,
        match=r"shard 1 of .*: the newer attempt's were written by a shipline from before",
    ):
        report.latest_attempts([*old, again])


def test_a_report_from_a_shipline_that_recorded_no_plan_is_named_as_the_cause() -> None:
    # "Re-run failed jobs" after the @v1 tag moved: shard 1 is from the older shipline
    old = [planned(manifest(s, 2, "a"), 1, "") for s in (1, 2)]
    again = planned(manifest(2, 2, "a"), 2, "newer")
    with pytest.raises(
        report.ManifestError,
        match=r"shard 1 of matrix cell 'a' reported only under another plan than the newest "
        r"attempt's \(a/shard-1of2-a\.json@1, attempt 1\): it was written by a shipline from "
        r"before reports named the durations file they planned with",
    ):
        report.latest_attempts([*old, again])


@pytest.mark.parametrize("value", [-1, 1.5, "2", True, None])
def test_an_attempt_that_is_no_whole_number_is_a_malformed_report(
    tmp_path: Path, value: object
) -> None:
    data = manifest(1, 1).to_json()
    data["attempt"] = value
    (tmp_path / "shard-1of1.json").write_text(json.dumps(data))
    with pytest.raises(report.ManifestError, match="malformed: attempt must be a whole number"):
        report.read_manifests(tmp_path)


@pytest.mark.parametrize("label", ["b\n::warning::forged", "a/b", "##[add-mask]x", 3, "b\n"])
def test_a_label_run_would_refuse_is_a_malformed_report(tmp_path: Path, label: object) -> None:
    # merge prints labels: a report is anyone's file, where run checked its input
    data = manifest(1, 1).to_json()
    data["label"] = label
    (tmp_path / "shard-1of1.json").write_text(json.dumps(data))
    with pytest.raises(report.ManifestError, match="malformed: label must be letters"):
        report.read_manifests(tmp_path)


@pytest.mark.parametrize("key", ["junit", "coverage"])
@pytest.mark.parametrize(
    "name", ["/etc/passwd", "../other/shard-1of1.xml", "a/../../x", "", "a\0b"]
)
def test_a_file_outside_the_report_s_directory_is_a_malformed_report(
    tmp_path: Path, key: str, name: str
) -> None:
    data = manifest(1, 1).to_json()
    data[key] = [name]
    (tmp_path / "shard-1of1.json").write_text(json.dumps(data))
    with pytest.raises(report.ManifestError, match=f"malformed: {key} must name a file in"):
        report.read_manifests(tmp_path)


def test_files_in_the_report_s_directory_are_read_from_it(tmp_path: Path) -> None:
    data = manifest(1, 1, "py3.12").to_json()
    data["junit"] = ["shard-1of1-py3.12.xml", "sub/shard-1of1-py3.12-rerun1.xml"]
    data["coverage"] = ["coverage-shard-1of1-py3.12.x1"]
    (tmp_path / "cell").mkdir()
    (tmp_path / "cell" / "shard-1of1-py3.12.json").write_text(json.dumps(data))
    [read] = report.read_manifests(tmp_path)
    assert read.label == "py3.12"
    assert read.junit == ["cell/shard-1of1-py3.12.xml", "cell/sub/shard-1of1-py3.12-rerun1.xml"]
    assert read.coverage == ["cell/coverage-shard-1of1-py3.12.x1"]


def test_a_malformed_manifest_blocks(tmp_path: Path) -> None:
    (tmp_path / "shard-1of1.json").write_text('{"version": 1, "shard": 1}')
    with pytest.raises(report.ManifestError, match="malformed"):
        report.read_manifests(tmp_path)


def test_the_flaky_policy_a_shard_ran_with_travels_in_its_report(tmp_path: Path) -> None:
    strict = manifest(1, 1)
    strict.flaky_fails = True
    (tmp_path / "shard-1of1.json").write_text(json.dumps(strict.to_json()))
    assert [m.flaky_fails for m in report.read_manifests(tmp_path)] == [True]
    (tmp_path / "shard-1of1.json").write_text(json.dumps(manifest(1, 1).to_json()))
    assert [m.flaky_fails for m in report.read_manifests(tmp_path)] == [False]


def test_missing_shards_are_named_per_matrix_cell() -> None:
    present = [manifest(1, 3, "py3.12"), manifest(3, 3, "py3.12"), manifest(1, 3, "py3.13")]
    assert report.missing_shards(present) == [
        "shard-2of3-py3.12",
        "shard-2of3-py3.13",
        "shard-3of3-py3.13",
    ]
    with pytest.raises(report.ManifestError, match=r"missing.*shard-2of3-py3\.12"):
        report.check_complete(present, None)


def whole_run(labels: list[str]) -> list[report.Manifest]:
    return [manifest(shard, 2, label) for label in labels for shard in (1, 2)]


def test_a_whole_run_of_one_plan_is_complete() -> None:
    report.check_complete(whole_run(["a", "b"]), report.Expected(cells=2, shards=2))
    report.check_complete(whole_run([""]), None)


@pytest.mark.parametrize(
    ("manifests", "expected", "message"),
    [
        pytest.param(
            [*whole_run(["a"]), manifest(2, 2, "a")],
            None,
            "two reports for shard-2of2-a",
            id="twice",
        ),
        pytest.param(
            [manifest(1, 2, "a"), manifest(2, 3, "a"), manifest(3, 3, "a")],
            None,
            "different plans: shard-1of2-a and shard-2of3-a",
            id="two plans",
        ),
        pytest.param(
            whole_run(["a", "b"]),
            report.Expected(2, 3),
            "another plan: shard-1of2-a, where the plan.s matrix has 3",
            id="not the plan's",
        ),
        pytest.param(
            [manifest(1, 2, "a"), manifest(2, 2, "a", python="3.13.1")],
            None,
            "labelled 'a' ran on Python 3.12, 3.13",
            id="two cells under one label",
        ),
        pytest.param(
            whole_run(["a"]),
            report.Expected(2, 2),
            "2 cell.*1 label.*\\(a\\)",
            id="a cell uploaded nothing",
        ),
    ],
)
def test_reports_that_are_not_one_whole_run_block(
    manifests: list[report.Manifest], expected: report.Expected | None, message: str
) -> None:
    with pytest.raises(report.ManifestError, match=message):
        report.check_complete(manifests, expected)


def test_what_a_shard_split_travels_in_its_report(tmp_path: Path) -> None:
    made = manifest(1, 2)
    made.split = split_of(["t1", "t2", "t3"], deselected=("t3",))
    (tmp_path / "shard-1of2.json").write_text(json.dumps(made.to_json()))
    (loaded,) = report.read_manifests(tmp_path)
    assert loaded.split == made.split


def test_a_report_that_does_not_say_what_its_shard_split_blocks(tmp_path: Path) -> None:
    older = manifest(1, 1).to_json()
    del older["split"]  # as a shipline from before the field wrote it
    (tmp_path / "shard-1of1.json").write_text(json.dumps(older))
    manifests = report.read_manifests(tmp_path)
    with pytest.raises(
        report.ManifestError,
        match=r"^shard report shard-1of1.json does not say what its shard split .*older shipline",
    ):
        report.check_complete(manifests, None)


def shares(label: str, *tests: list[str], collected: list[str]) -> list[report.Manifest]:
    """The shards of one cell, shard i holding ``tests[i - 1]``, each having split ``collected``."""
    made = [manifest(i, len(tests), label) for i in range(1, len(tests) + 1)]
    for m, held in zip(made, tests, strict=True):
        m.tests = held
        m.split = split_of(collected)
    return made


@pytest.mark.parametrize(
    ("manifests", "message"),
    [
        pytest.param(
            shares("py3.12", ["a", "b"], ["b", "c"], collected=["a", "b", "c"]),
            "^the shards of the matrix cell 'py3.12' overlap: b is in shard-1of2-py3.12 and "
            "shard-2of2-py3.12; their jobs split the tests differently$",
            id="overlap",
        ),
        pytest.param(
            shares("", ["a"], ["c"], collected=["a", "b", "c"]),
            r"^the shards of the run \(shard-1of2, shard-2of2\) hold 2 test\(s\) between them, "
            r"not the 3 they split \(sha256 [0-9a-f]{12}, not [0-9a-f]{12}\): a shard left tests ",
            id="gap",
        ),
        pytest.param(
            shares("", ["a"], ["x"], collected=["a", "b"]),
            r"hold 2 test\(s\) between them, not the 2 they split",
            id="a test outside the collection",
        ),
        pytest.param(
            [
                *shares("ok", ["a"], ["b"], collected=["a", "b"]),
                *shares("py3.13", ["a"], ["b", "c"], collected=["a", "b"])[:1],
                *shares("py3.13", ["a"], ["b", "c"], collected=["a", "b", "c"])[1:],
            ],
            r"^the shards of the matrix cell 'py3.13' split different collections: "
            r"shard-1of2-py3.13 2 tests collected \(sha256 [0-9a-f]{12}\), shard-2of2-py3.13 "
            r"3 tests collected \(sha256 [0-9a-f]{12}\); a plugin or conftest changed",
            id="different collections",
        ),
    ],
)
def test_shards_that_did_not_split_one_collection_block(
    manifests: list[report.Manifest], message: str
) -> None:
    with pytest.raises(report.ManifestError, match=message):
        report.check_complete(manifests, None)


def test_tests_a_plugin_deselected_after_the_split_still_count_as_the_shard_s() -> None:
    cell = shares("", ["a"], ["c"], collected=["a", "b", "c"])
    cell[0].split = split_of(["a", "b", "c"], deselected=("b",))  # --lf dropped b in shard 1
    report.check_complete(cell, None)
    cell[1].split = split_of(["a", "b", "c"], deselected=("b",))  # ... but not in shard 2 too
    with pytest.raises(report.ManifestError, match="overlap: b is in shard-1of2 and shard-2of2"):
        report.check_complete(cell, None)


def test_shards_that_collected_only_their_modules_are_checked_for_overlaps_only() -> None:
    # keep-together module with a history: no shard collected the whole suite, so what they
    # share is the placement, and the union cannot be compared with a collection
    cell = shares("", ["a"], ["c"], collected=[])
    for m in cell:
        m.split = report.Split("modules", 7, "f" * 64)
    report.check_complete(cell, None)
    cell[1].tests = ["a"]
    with pytest.raises(report.ManifestError, match="overlap: a is in shard-1of2 and shard-2of2"):
        report.check_complete(cell, None)
    cell[1].split = report.Split("modules", 7, "e" * 64)
    with pytest.raises(
        report.ManifestError,
        match=r"shard-1of2 7 tests placed by module \(sha256 f{12}\), shard-2of2 7 tests placed",
    ):
        report.check_complete(cell, None)


def test_verdict_separates_failures_flaky_and_quarantined() -> None:
    results = [
        TestResult("fails", Outcome.FAILED, 1.0),
        TestResult("errors", Outcome.ERROR, 1.0),
        TestResult("flaky", Outcome.FLAKY, 1.0),
        TestResult("held", Outcome.FAILED, 1.0),
        TestResult("fine", Outcome.PASSED, 1.0),
    ]
    entry = Entry("held", "why", "@me", "https://x/1", dt.date(2999, 1, 1), 3)
    lenient = report.judge(results, {"held": entry}, [], flaky_fails=False)
    assert [r.nodeid for r in lenient.failed] == ["fails", "errors"]
    assert [r.nodeid for r in lenient.flaky] == ["flaky"]
    assert [r.nodeid for r in lenient.quarantined] == ["held"]
    assert not lenient.passed
    only_flaky = [results[2], results[4]]
    assert report.judge(only_flaky, {}, [], flaky_fails=False).passed
    assert not report.judge(only_flaky, {}, [], flaky_fails=True).passed
    assert not report.judge([results[4]], {}, [entry], flaky_fails=False).passed  # expired entry
