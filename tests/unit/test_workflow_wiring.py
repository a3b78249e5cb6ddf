"""Every workflow and template passes only inputs that the shipline action or reusable
workflow it calls declares, and names only actions that exist: wiring drift fails here."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.paths import ROOT

WORKFLOWS = sorted([*ROOT.glob(".github/workflows/*.yml"), *ROOT.glob("workflows-templates/*.yml")])
SHIPLINE_USE = re.compile(r"^(?:shipline/shipline/|\./)(?P<path>[^@]*?)(?:@.+)?$")


def declared_inputs(target: Path) -> set[str]:
    document: dict[Any, Any] = yaml.safe_load(target.read_text())
    if target.name == "action.yml":
        return set(document.get("inputs") or {})
    triggers = document.get("on") or document.get(True) or {}
    return set((triggers.get("workflow_call") or {}).get("inputs") or {})


def shipline_calls(workflow: Path) -> list[tuple[str, Path, set[str]]]:
    document: dict[str, Any] = yaml.safe_load(workflow.read_text())
    calls = []
    for job_id, job in (document.get("jobs") or {}).items():
        for where, uses, given in [(job_id, job.get("uses"), job.get("with"))] + [
            (
                f"{job_id}/{step.get('id') or step.get('name') or index}",
                step.get("uses"),
                step.get("with"),
            )
            for index, step in enumerate(job.get("steps") or [])
        ]:
            match = SHIPLINE_USE.match(uses or "")
            if not match or (uses or "").startswith("./.ci"):
                continue
            path = match["path"] or "."
            target = ROOT / path if path.endswith(".yml") else ROOT / path / "action.yml"
            calls.append((where, target, set(given or {})))
    return calls


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_shipline_calls_name_existing_targets_and_declared_inputs(workflow: Path) -> None:
    for where, target, given in shipline_calls(workflow):
        if "tests/workflows/fixtures" in target.as_posix():
            continue
        assert target.is_file(), f"{where}: {target.relative_to(ROOT)} does not exist"
        unknown = given - declared_inputs(target)
        assert not unknown, (
            f"{where}: {sorted(unknown)} are not inputs of {target.relative_to(ROOT)}"
        )


def test_the_pipeline_and_the_templates_call_shipline_at_all() -> None:
    called = {
        target.relative_to(ROOT).as_posix()
        for wf in WORKFLOWS
        for _, target, _ in shipline_calls(wf)
    }
    assert {
        "actions/lint/action.yml",
        ".github/workflows/pipeline.yml",
        "actions/sign/action.yml",
    } <= called


def test_a_misspelled_input_is_caught(tmp_path: Path) -> None:
    workflow = tmp_path / "w.yml"
    workflow.write_text(
        "jobs:\n  a:\n    steps:\n      - uses: shipline/shipline/actions/lint@v1\n        with:\n          fail_on: error\n"
    )
    ((_, target, given),) = shipline_calls(workflow)
    assert given - declared_inputs(target) == {"fail_on"}


@pytest.mark.parametrize(
    "properties", sorted(ROOT.glob("workflows-templates/*.properties.json")), ids=lambda p: p.name
)
def test_each_template_has_its_workflow_and_readable_properties(properties: Path) -> None:
    data = json.loads(properties.read_text())
    assert {"name", "description", "iconName", "categories"} <= set(data)
    assert properties.with_name(properties.name.replace(".properties.json", ".yml")).is_file()


def gate_conditions(workflow: Path, job: str) -> list[str]:
    document: dict[str, Any] = yaml.safe_load(workflow.read_text())
    steps = document["jobs"][job]["steps"]
    return [str(s.get("if")) for s in steps if s.get("name") == "Every shard job passed"]


def test_the_pr_template_gates_its_merge_on_the_shard_jobs_as_the_self_test_act_runs() -> None:
    # act runs the self-test's gate (tests/workflows); the template must hold the same one
    tested = gate_conditions(ROOT / ".github/workflows/selftest-test-matrix.yml", "merge")
    template = gate_conditions(ROOT / "workflows-templates/shipline-pr.yml", "merge")
    assert len(tested) == 1 and template == tested, (template, tested)
