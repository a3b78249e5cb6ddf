"""The reusable pipeline end to end under act, as the main job runs it (scripts/main_job.py)."""

from __future__ import annotations

import main_job
import pytest

from tests.paths import ROOT

JOBS = ("lint", "unit-tests", "build", "integration-tests", "scan", "sign", "bump", "deploy-gate")


@pytest.fixture(scope="module")
def run() -> main_job.PipelineRun:
    return main_job.run_local_pipeline(ROOT / ".cache" / "pipeline-test")


@pytest.mark.slow
def test_every_node_of_the_pipeline_succeeds(run: main_job.PipelineRun) -> None:
    result = run.result
    assert result.exit_code == 0, result.report()
    assert {job.job_id: job.result for job in result.jobs.values()} == dict.fromkeys(
        JOBS, "success"
    )


@pytest.mark.slow
def test_the_config_repository_gets_exactly_one_changed_line_pinning_the_pushed_digest(
    run: main_job.PipelineRun,
) -> None:
    (pushed,) = [
        a.message
        for a in run.result.annotations
        if a.title == "build-cache" and a.message.startswith("pushed ")
    ]
    digest = pushed.rsplit("@", 1)[1]
    diff = run.config_commit.split("\ndiff --git", 1)[1].splitlines()
    removed = [line for line in diff if line.startswith("-") and not line.startswith("---")]
    added = [line for line in diff if line.startswith("+") and not line.startswith("+++")]
    assert removed == [f"-    digest: {main_job.PREVIOUS_DIGEST}   # the release in staging"]
    assert added == [f"+    digest: {digest}   # the release in staging"]
    subject = run.config_commit.splitlines()[0]
    assert subject.endswith(f" Bump orders in staging to {digest[: len('sha256:') + 12]}")


@pytest.mark.slow
def test_reviewers_read_what_each_node_did(run: main_job.PipelineRun) -> None:
    summaries = {job.job_id: job.summary for job in run.result.jobs.values()}
    assert "## Lint `examples/fastapi-service`: ✅ passed" in summaries["lint"]
    assert "✅ passed" in summaries["unit-tests"] and "✅ passed" in summaries["integration-tests"]
    assert "✅ pushed" in summaries["build"]
    assert "## Scan gate `examples/fastapi-service`: ✅ passed" in summaries["scan"]
    # local signatures are labelled for what they are
    assert any("UNTRUSTED" in a.message for a in run.result.annotations if a.job.endswith("sign"))
