"""The pull request template (workflows-templates/shipline-pr.yml) under act, as a user copies it.

The only change is the service's directory (the template's ``SERVICE: .``), so the template's
own steps run: its installs (from PyPI, with the example's hashes), its first-run durations
file, the plan's matrix from the example's ``requires-python``, one job per cell, and the merge
job that branch protection requires.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import actrun
import pytest

from shipline.testmatrix import pythons
from shipline.testmatrix.report import today_utc
from tests.paths import ROOT
from tests.workflows.test_selftest_lint import action_environment

TEMPLATE = ROOT / "workflows-templates" / "shipline-pr.yml"
SERVICE_LINE = "  SERVICE: .\n"


def copied_template(directory: Path) -> Path:
    text = TEMPLATE.read_text(encoding="utf-8")
    assert text.count(SERVICE_LINE) == 1, "the template no longer sets SERVICE in one line"
    copy = directory / TEMPLATE.name
    copy.write_text(text.replace(SERVICE_LINE, "  SERVICE: examples/fastapi-service\n"))
    return copy


def run_template(directory: Path, env: dict[str, str]) -> actrun.ActResult:
    return actrun.run_workflow(
        copied_template(directory),
        "pull_request",
        actrun.example_payload("pull_request", "opened"),
        env={**action_environment(), **env},
        timeout=900,
    )


@pytest.fixture(scope="module")
def passing(tmp_path_factory: pytest.TempPathFactory) -> actrun.ActResult:
    return run_template(tmp_path_factory.mktemp("template-pr"), {})


@pytest.fixture(scope="module")
def broken_plan(tmp_path_factory: pytest.TempPathFactory) -> actrun.ActResult:
    # an option pytest refuses makes the plan's collection fail, as a broken conftest would
    return run_template(
        tmp_path_factory.mktemp("template-pr-broken"),
        {"PYTEST_ADDOPTS": "--no-such-option"},
    )


@pytest.mark.slow
def test_a_first_run_passes_with_no_durations_yet(passing: actrun.ActResult) -> None:
    assert passing.exit_code == 0, passing.report()
    results = {job.key: job.result for job in passing.jobs.values()}
    assert set(results.values()) == {"success"}, results
    cells = passing.runs("test")
    # the example's requires-python over today's CPython lines, one shard each (nothing
    # measured yet, few tests)
    example = tomllib.loads((ROOT / "examples/fastapi-service/pyproject.toml").read_text())
    lines = pythons.project_versions(example, today_utc())
    assert len(lines) >= 4 and lines[0] == "3.11"
    assert sorted((job.matrix["python"] for job in cells), key=lines.index) == lines
    (merge,) = passing.runs("merge")
    assert "## Tests, all shards: ✅ passed" in merge.summary
    for python in lines:  # (act runs every cell on one Python)
        assert f"| shard-1of1-py{python}-ubuntu-latest |" in merge.summary
    assert not [a for a in passing.annotations if a.level == "error"], passing.report()


@pytest.mark.slow
def test_the_required_check_fails_when_the_plan_fails(broken_plan: actrun.ActResult) -> None:
    (plan,) = broken_plan.runs("plan")
    assert plan.result == "failure", broken_plan.report()
    assert [job.result for job in broken_plan.runs("test")] in ([], ["skipped"])
    # a skipped required check counts as passed on GitHub: this one must run, and fail
    (merge,) = broken_plan.runs("merge")
    assert merge.result == "failure", broken_plan.report()
    assert any(
        a.level == "error" and "the plan job did not pass (failure)" in a.message
        for a in merge.annotations
    ), broken_plan.report()
