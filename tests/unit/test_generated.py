"""The generated files (action.yml, README reference, requirements) match their sources."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shipline.actionyml import render
from shipline.reference import END, START, render_reference, splice
from shipline.registry import ACTION_MODULES, load_spec, spec_source
from tests.paths import ROOT


def test_generate_check_passes_on_the_committed_tree() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_generate_check_names_a_stale_file(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(".venv", ".git", "node_modules", ".cache", "*_cache"),
    )
    action = copy / "actions" / "lint" / "action.yml"
    action.write_text(action.read_text().replace("Project directory", "Directory"))
    done = subprocess.run(
        [sys.executable, str(copy / "scripts" / "generate"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "stale: actions/lint/action.yml" in done.stdout


def test_readme_reference_matches_the_action_files() -> None:
    readme = (ROOT / "README.md").read_text()
    assert splice(readme, render_reference(ROOT)) == readme


def test_readme_reference_disagreeing_with_action_yml_is_detected(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "actions", tmp_path / "actions")
    shutil.copy(ROOT / "action.yml", tmp_path / "action.yml")
    action = tmp_path / "actions" / "lint" / "action.yml"
    action.write_text(action.read_text().replace('default: "error"', 'default: "warning"'))
    readme = (ROOT / "README.md").read_text()
    assert splice(readme, render_reference(tmp_path)) != readme


def test_splice_needs_both_markers() -> None:
    with pytest.raises(ValueError, match="lacks the markers"):
        splice("# no markers", "x")
    assert splice(f"a\n{START}\nold\n{END}\nb", "new") == f"a\n{START}\n\nnew\n{END}\nb"


@pytest.mark.parametrize("name", sorted(ACTION_MODULES))
def test_action_yml_passes_every_input_through_env_only(name: str) -> None:
    spec = load_spec(name)
    assert (ROOT / spec_source(name)).is_file()
    action = yaml.safe_load(render(spec, spec_source(name)))
    assert list(action["inputs"]) == [i.name for i in spec.inputs]
    assert list(action["outputs"]) == [o.name for o in spec.outputs]
    run_step = action["runs"]["steps"][-1]
    for item in spec.inputs:
        assert run_step["env"][item.env_names[0]] == f"${{{{ inputs.{item.name} }}}}"
    for step in action["runs"]["steps"]:
        assert "${{" not in step.get("run", "")


def test_requirements_exports_match_the_lock(tmp_path: Path) -> None:
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    for exported in sorted((ROOT / "requirements").glob("*.txt")):
        extra = [] if exported.stem == "core" else ["--extra", exported.stem]
        fresh = tmp_path / exported.name
        subprocess.run(
            [
                uv,
                "export",
                "--frozen",
                "--no-default-groups",
                "--no-emit-project",
                "--no-header",
                "--format",
                "requirements.txt",
                *extra,
                "-o",
                str(fresh),
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        assert fresh.read_text() == exported.read_text(), (
            f"{exported.name} is stale: run scripts/lock --export-only"
        )


def test_lint_environment_has_no_scanners() -> None:
    lint = (ROOT / "requirements" / "lint.txt").read_text()
    for heavy in ("semgrep", "trivy", "sigstore"):
        assert f"\n{heavy}==" not in f"\n{lint}"
    assert "\nruff==" in f"\n{lint}" and "\nmypy==" in f"\n{lint}"


def test_zizmor_reports_nothing_on_our_actions_and_workflows() -> None:
    zizmor = str(Path(sys.executable).parent / "zizmor")
    targets = [str(ROOT / "action.yml"), str(ROOT / "actions"), str(ROOT / ".github" / "workflows")]
    targets += [str(p) for p in sorted((ROOT / "workflows-templates").glob("*.yml"))]
    assert len(targets) > 3  # the templates are there to be checked
    done = subprocess.run(
        [zizmor, "--offline", "--format", "plain", *targets],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout + done.stderr
