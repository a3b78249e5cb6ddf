"""selftest-lint.yml under act: the example passes; the broken copy fails on the right lines."""

from __future__ import annotations

import os
from pathlib import Path

import actrun
import pytest

from tests.paths import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "selftest-lint.yml"
BROKEN = "broken-service/app/broken.py"


def action_environment() -> dict[str, str]:
    """Where the actions keep their environments: reused across runs like a runner's tool cache,
    with uv's package cache standing in for the one actions/cache restores."""
    return {
        "SHIPLINE_HOME": str(ROOT / ".cache" / "shipline-act"),
        "UV_CACHE_DIR": os.environ.get("UV_CACHE_DIR", str(Path.home() / ".cache" / "uv")),
    }


@pytest.fixture(scope="module")
def run() -> actrun.ActResult:
    payload = actrun.example_payload("pull_request", "opened")
    return actrun.run_workflow(
        WORKFLOW, "pull_request", payload, env=action_environment(), timeout=600
    )


@pytest.mark.slow
def test_the_workflow_passes_because_lint_caught_the_broken_copy(run: actrun.ActResult) -> None:
    assert run.exit_code == 0, run.report()
    (job,) = run.runs("lint")
    assert job.result == "success"
    assert job.outputs["example-outcome"] == "pass"
    assert job.outputs["example-findings"] == "0"
    assert job.outputs["broken-outcome"] == "fail"
    assert int(job.outputs["broken-errors"]) >= 5
    assert job.step("broken").result == "failure"
    assert job.step("example").result == "success"


@pytest.mark.slow
def test_annotations_land_on_the_defective_lines(run: actrun.ActResult) -> None:
    found = {(a.level, a.file, a.line, a.title) for a in run.annotations if a.file == BROKEN}
    assert found >= {
        ("error", BROKEN, 3, "ruff F401"),
        ("error", BROKEN, 7, "mypy return-value"),
        ("error", BROKEN, 11, "mypy operator"),
        ("error", BROKEN, 14, "ruff-format unformatted"),
    }
    # nothing on the healthy service's own files
    assert not [a for a in run.annotations if a.file and a.file.startswith("examples/")]


@pytest.mark.slow
def test_the_job_summary_shows_both_verdicts(run: actrun.ActResult) -> None:
    (job,) = run.runs("lint")
    assert "## Lint `examples/fastapi-service`: ✅ passed" in job.summary
    assert "## Lint `broken-service`: ❌ failed" in job.summary
    assert "| mypy | findings | 3 | 0 | 0 |" in job.summary
