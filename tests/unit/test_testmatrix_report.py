"""Shard manifests, missing shards and the verdict."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from shipline.testmatrix import report
from shipline.testmatrix.quarantine import Entry
from shipline.testmatrix.results import Outcome, TestResult


def manifest(shard: int, shards: int, label: str = "", python: str = "3.12.4") -> report.Manifest:
    result = TestResult(f"t{shard}", Outcome.FLAKY, 1.5, "boom", "details", "tests/t.py", 3, 2)
    made = report.Manifest(
        shard, shards, label, python, "/ws/proj", [f"t{shard}"], [result], 2.0, [f"s{shard}.xml"]
    )
    made.source = f"{label or 'x'}/{made.stem}.json"
    return made


def test_manifests_round_trip_through_json(tmp_path: Path) -> None:
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "shard-1of1.json").write_text(json.dumps(manifest(1, 1).to_json()))
    (loaded,) = report.read_manifests(tmp_path)
    assert loaded.results == manifest(1, 1).results
    assert loaded.junit == ["nested/s1.xml"]  # relative to the results directory


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
