"""The lint action end to end with the real tools, through the CLI as a runner calls it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tests.paths import SARIF_SCHEMA, load_npm_json
from tests.support.action_runner import Command, run_action

CLEAN_CONFIG = """\
[tool.ruff]
line-length = 100
[tool.ruff.lint]
select = ["E", "F", "I"]
[tool.mypy]
strict = true
files = ["app"]
"""
BROKEN_MODULE = """\
import os


def add(a: int, b: int) -> int:
    return a + b


total: int = add(1, "2")
"""
CLEAN_MODULE = """\
def add(a: int, b: int) -> int:
    return a + b


total: int = add(1, 2)
"""
DOCKERFILE = """\
FROM python:3.12-slim
RUN apt-get update && apt-get install -y curl
USER 10001
"""
WORKFLOW = """\
on: push
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
"""


def make_project(root: Path, module: str, *, dockerfile: bool = False) -> Path:
    project = root / "service"
    (project / "app").mkdir(parents=True)
    (project / "pyproject.toml").write_text(CLEAN_CONFIG)
    (project / "app" / "__init__.py").write_text("")
    (project / "app" / "calc.py").write_text(module)
    if dockerfile:
        (project / "Dockerfile").write_text(DOCKERFILE)
    return project


def run_lint(workspace: Path, **inputs: str) -> tuple[int, list[Command], dict[str, str], str, str]:
    run = run_action("lint", workspace, inputs)
    return run.code, run.commands, run.outputs, run.summary, run.log


def annotations(commands: list[Command]) -> list[tuple[str, str, str, str]]:
    return [
        (name, props.get("file", ""), props.get("line", ""), props.get("title", ""))
        for name, props, _ in commands
        if name in {"error", "warning", "notice"}
    ]


def test_findings_become_annotations_on_their_lines_outputs_summary_and_sarif(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace, BROKEN_MODULE)
    code, commands, outputs, summary, log = run_lint(
        workspace, path="service", sarif="reports/lint.sarif"
    )
    assert code == 1, log
    found = annotations(commands)
    assert ("error", "service/app/calc.py", "1", "ruff F401") in found
    assert (
        "error",
        "service/app/calc.py",
        "1",
        "ruff I001",
    ) not in found  # single import is sorted
    assert ("error", "service/app/calc.py", "8", "mypy arg-type") in found
    assert outputs["errors"] == str(len([a for a in found if a[0] == "error"]))
    assert outputs["outcome"] == "fail"
    assert outputs["sarif"] == str(workspace / "reports" / "lint.sarif")
    assert "## Lint `service`: ❌ failed" in summary
    assert "| ruff | findings | 1 | 0 | 0 |" in summary
    assert "| mypy | findings | 1 | 0 | 0 |" in summary
    sarif = json.loads((workspace / "reports" / "lint.sarif").read_text())
    jsonschema.validate(sarif, load_npm_json(SARIF_SCHEMA))
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for run in sarif["runs"]
        for r in run["results"]
    }
    assert uris == {"service/app/calc.py"}


def test_a_clean_project_passes(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace, CLEAN_MODULE)
    code, commands, outputs, summary, log = run_lint(workspace, path="service")
    assert code == 0, log
    assert annotations(commands) == []
    assert outputs == {
        "errors": "0",
        "warnings": "0",
        "notes": "0",
        "findings": "0",
        "outcome": "pass",
    }
    assert "✅ passed" in summary


def test_formatting_drift_is_reported_at_the_first_changed_line(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace, CLEAN_MODULE.replace("return a + b", "return a+b"))
    code, commands, _, _, log = run_lint(workspace, path="service", mypy="false")
    assert code == 1, log
    assert annotations(commands) == [
        ("error", "service/app/calc.py", "2", "ruff-format unformatted")
    ]


def test_hadolint_warnings_block_only_when_fail_on_warning(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace, CLEAN_MODULE, dockerfile=True)
    code, commands, outputs, _, log = run_lint(workspace, path="service")
    assert code == 0, log
    assert ("warning", "service/Dockerfile", "2", "hadolint DL3008") in annotations(commands)
    assert outputs["outcome"] == "pass"
    code, _, outputs, _, _ = run_lint(workspace, path="service", **{"fail_on": "warning"})
    assert (code, outputs["outcome"]) == (1, "fail")
    code, _, outputs, _, _ = run_lint(
        workspace, path="service", hadolint="false", **{"fail_on": "warning"}
    )
    assert (code, outputs["outcome"]) == (0, "pass")


def test_zizmor_findings_land_on_the_workflow_file(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace, CLEAN_MODULE)
    workflows = workspace / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text(WORKFLOW)
    code, commands, _, _, log = run_lint(workspace, path="service", zizmor="true")
    assert code == 1, log
    assert ("error", ".github/workflows/ci.yml", "7", "zizmor zizmor/unpinned-uses") in annotations(
        commands
    )


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (
            {"fail_on": "sometimes"},
            "input 'fail-on' got 'sometimes': expected one of error, warning, never",
        ),
        ({"ruff": "yes"}, "input 'ruff' got 'yes': expected true or false"),
        (
            {"path": "../elsewhere"},
            "input 'path' got '../elsewhere': expected a path inside the workspace",
        ),
        (
            {"timeout": "soon"},
            "input 'timeout' got 'soon': expected a duration such as 30s, 5m or 1h30m",
        ),
        (
            {"ruff": "false", "ruff_format": "false", "mypy": "false", "hadolint": "false"},
            "every linter is switched off",
        ),
    ],
)
def test_bad_input_is_one_error_line_and_exit_2_with_nothing_done(
    tmp_path: Path, inputs: dict[str, str], message: str
) -> None:
    workspace = tmp_path / "ws"
    make_project(workspace, BROKEN_MODULE)
    code, commands, outputs, summary, log = run_lint(
        workspace, **{"path": "service", "sarif": "out.sarif", **inputs}
    )
    assert code == 2, log
    errors = [(props, text) for name, props, text in commands if name == "error"]
    assert len(errors) == 1 and message in errors[0][1], log
    assert outputs == {} and summary == ""
    assert not (workspace / "out.sarif").exists()
