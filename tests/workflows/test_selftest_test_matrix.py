"""selftest-test-matrix.yml under act: plan -> a matrix job per shard -> merge, on the example.

The shards' reports and the planned-with durations travel between jobs as artifacts (the
act stand-ins copy them through one directory per run), as they do on GitHub.
"""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path

import actrun
import pytest

from tests.paths import ROOT
from tests.workflows.test_selftest_lint import action_environment

WORKFLOW = ROOT / ".github" / "workflows" / "selftest-test-matrix.yml"
SERVICE_PYTHON = ROOT / "examples" / "fastapi-service" / ".venv" / "bin" / "python"
SHARDS = 2


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("artifacts")


@pytest.fixture(scope="module")
def run(artifacts: Path) -> actrun.ActResult:
    return actrun.run_workflow(
        WORKFLOW,
        "workflow_dispatch",
        inputs={"service-python": str(SERVICE_PYTHON), "shards": str(SHARDS)},
        env=action_environment(),
        artifacts_dir=artifacts,
        timeout=600,
    )


@functools.cache
def unit_tests() -> set[str]:
    """The example's unit layer as its own pytest collects it, independently of shipline."""
    done = subprocess.run(
        [str(SERVICE_PYTHON), "-m", "pytest", "--collect-only", "-q", "-m", "unit"],
        cwd=ROOT / "examples" / "fastapi-service",
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return {line for line in done.stdout.splitlines() if "::" in line}


@pytest.mark.slow
def test_plan_shards_and_merge_all_succeed(run: actrun.ActResult) -> None:
    assert run.exit_code == 0, run.report()
    assert [j.result for j in run.runs("plan")] == ["success"]
    shards = run.runs("test")
    assert sorted(j.matrix["shard"] for j in shards) == list(range(1, SHARDS + 1))
    assert {j.matrix["python"] for j in shards} == {"3.11"}
    assert all(j.result == "success" for j in shards)
    (merge,) = run.runs("merge")
    assert merge.result == "success"
    assert not [a for a in run.annotations if a.level == "error"], run.report()


@pytest.mark.slow
def test_every_unit_test_ran_on_exactly_one_shard(run: actrun.ActResult, artifacts: Path) -> None:
    expected = unit_tests()
    assigned: list[str] = []
    for shard in range(1, SHARDS + 1):
        (report,) = artifacts.glob(
            f"test-results-3.11-ubuntu-latest-{shard}-1/shard-{shard}of{SHARDS}-*.json"
        )  # "-1": the run's first attempt, which the report records too
        manifest = json.loads(report.read_text())
        assert manifest["attempt"] == 1
        assert manifest["tests"], f"shard {shard} is empty"
        assigned += manifest["tests"]
    assert sorted(assigned) == sorted(expected)
    (merge,) = run.runs("merge")
    assert merge.outputs["tests"] == str(len(expected))
    assert merge.outputs["passed"] == str(len(expected))
    assert merge.outputs["failed"] == "0" and merge.outputs["outcome"] == "pass"


@pytest.mark.slow
def test_merge_writes_the_durations_and_a_summary(run: actrun.ActResult, artifacts: Path) -> None:
    history = json.loads((artifacts / "test-report" / "test-durations" / "unit.json").read_text())
    assert set(history["tests"]) == unit_tests()
    assert all(entry["samples"] == 1 for entry in history["tests"].values())
    (merge,) = run.runs("merge")
    assert "## Tests, all shards: ✅ passed" in merge.summary
    for shard in range(1, SHARDS + 1):
        assert f"| shard-{shard}of{SHARDS}-py3.11-ubuntu-latest | 3.11 |" in merge.summary
    plan_summary = run.runs("plan")[0].summary
    assert f"## Test plan: {SHARDS} shard(s) x 1 Python x 1 OS" in plan_summary


INJECTED = "examples/fastapi-service/tests/unit/test_injected_failure.py"


@pytest.fixture(scope="module")
def failing_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("failing-artifacts")


@pytest.fixture(scope="module")
def failing_run(failing_artifacts: Path) -> actrun.ActResult:
    return actrun.run_workflow(
        WORKFLOW,
        "workflow_dispatch",
        # one shard: under act a failing matrix job can cut its siblings short before they
        # upload their reports (GitHub, with fail-fast: false, lets them finish)
        inputs={"service-python": str(SERVICE_PYTHON), "shards": "1", "inject-failure": "true"},
        env=action_environment(),
        artifacts_dir=failing_artifacts,
        timeout=600,
    )


@pytest.mark.slow
def test_a_failing_test_fails_its_shard_and_the_merge_on_its_line(
    failing_run: actrun.ActResult, failing_artifacts: Path
) -> None:
    assert failing_run.exit_code == 1, failing_run.report()
    (shard,) = failing_run.runs("test")
    assert shard.result == "failure"
    (report,) = failing_artifacts.glob("test-results-3.11-ubuntu-latest-1-1/shard-1of1-*.json")
    results = {r["nodeid"]: r for r in json.loads(report.read_text())["results"]}
    injected = results["tests/unit/test_injected_failure.py::test_injected_failure"]
    assert (injected["outcome"], injected["attempts"]) == ("failed", 3)  # two reruns
    assert {r["outcome"] for n, r in results.items() if r is not injected} == {"passed"}
    (merge,) = failing_run.runs("merge")
    assert merge.result == "failure"
    assert merge.outputs["failed"] == "1" and merge.outputs["outcome"] == "fail"
    assert "## Tests, all shards: ❌ failed" in merge.summary
    errors = {
        (a.job.strip(), a.file, a.line, a.title)
        for a in failing_run.annotations
        if a.level == "error"
    }
    on_the_line = {
        (job, title) for job, file, line, title in errors if (file, line) == (INJECTED, 2)
    }
    assert ("merge", "test-matrix failure") in on_the_line, failing_run.report()
    assert len(on_the_line) == 2, failing_run.report()  # the shard that ran it, and the merge


@pytest.fixture(scope="module")
def gate_run(tmp_path_factory: pytest.TempPathFactory) -> actrun.ActResult:
    return actrun.run_workflow(
        WORKFLOW,
        "workflow_dispatch",
        inputs={
            "service-python": str(SERVICE_PYTHON),
            "shards": "1",
            "fail-after-report": "true",
        },
        env=action_environment(),
        artifacts_dir=tmp_path_factory.mktemp("gate-artifacts"),
        timeout=600,
    )


@pytest.mark.slow
def test_a_shard_job_that_failed_after_a_passing_report_fails_the_merge(
    gate_run: actrun.ActResult,
) -> None:
    # e.g. a "Re-run all jobs" whose cell uploaded nothing, with an older attempt's report
    # standing in: the reports pass, the jobs of this attempt did not
    assert gate_run.exit_code == 1, gate_run.report()
    (shard,) = gate_run.runs("test")
    assert shard.result == "failure"
    (merge,) = gate_run.runs("merge")
    assert merge.outputs["outcome"] == "pass" and merge.outputs["failed"] == "0"
    assert merge.result == "failure", gate_run.report()
    said = [
        a.message for a in gate_run.annotations if a.level == "error" and a.job.strip() == "merge"
    ]
    assert said == ["a shard job did not pass (failure): see the test jobs"], gate_run.report()
