"""Shard manifests, missing shards and the verdict."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from shipline.testmatrix import report
from shipline.testmatrix.quarantine import Entry
from shipline.testmatrix.results import Outcome, TestResult


def manifest(shard: int, shards: int, label: str = "") -> report.Manifest:
    result = TestResult(f"t{shard}", Outcome.FLAKY, 1.5, "boom", "details", "tests/t.py", 3, 2)
    return report.Manifest(
        shard, shards, label, "3.12", "/ws/proj", [f"t{shard}"], [result], 2.0, [f"s{shard}.xml"]
    )


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


def test_missing_shards_are_named_per_matrix_cell() -> None:
    present = [manifest(1, 3, "py3.12"), manifest(3, 3, "py3.12"), manifest(1, 1, "py3.13")]
    assert report.missing_shards(present) == ["shard-2of3-py3.12"]


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
