"""A real bare config repository seeded from tests/data/config-repos, and a fake GitHub on it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.github import FakeGitHub
from tests.paths import ROOT
from tests.runner_protocol import parse_command, parse_key_values

CONFIG_DATA = ROOT / "tests" / "data" / "config-repos"


def git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env={
            "GIT_AUTHOR_NAME": "seed",
            "GIT_AUTHOR_EMAIL": "seed@example.test",
            "GIT_COMMITTER_NAME": "seed",
            "GIT_COMMITTER_EMAIL": "seed@example.test",
            "PATH": "/usr/bin:/bin",
            "HOME": str(cwd or "/tmp"),
        },
    )
    return done.stdout


def make_config_repo(root: Path) -> Path:
    """A bare repository whose main branch holds a copy of tests/data/config-repos."""
    work = root / "seed"
    shutil.copytree(CONFIG_DATA, work)
    git("init", "--quiet", "--initial-branch=main", cwd=work)
    git("add", ".", cwd=work)
    git("commit", "--quiet", "-m", "seed config", cwd=work)
    bare = root / "config.git"
    git("clone", "--quiet", "--bare", str(work), str(bare))
    shutil.rmtree(work)
    return bare


def read_file(bare: Path, ref: str, path: str) -> str:
    return git("--git-dir", str(bare), "show", f"{ref}:{path}")


def rev(bare: Path, ref: str) -> str:
    return git("--git-dir", str(bare), "rev-parse", ref).strip()


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    """(old line, new line) pairs that differ; the files must have the same number of lines."""
    old, new = before.splitlines(), after.splitlines()
    assert len(old) == len(new), "an edit added or removed lines"
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


@pytest.fixture
def config_repo(tmp_path: Path) -> Path:
    return make_config_repo(tmp_path)


@pytest.fixture
def fake_github(config_repo: Path) -> Iterator[FakeGitHub]:
    fake = FakeGitHub(config_repo).start()
    yield fake
    fake.stop()
    assert fake.violations == [], "the fake answered off GitHub's API description"


def run_bump(
    workspace: Path, extra_env: dict[str, str] | None = None, **inputs: str
) -> tuple[int, list[tuple[str, dict[str, str], str]], dict[str, str], str, str]:
    """``python -m shipline bump-config-repo`` as a runner calls it: code, commands, outputs, summary, log."""
    workspace.mkdir(parents=True, exist_ok=True)
    files = {
        name: workspace.parent / f"{name.lower()}.txt"
        for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")
    }
    for path in files.values():
        path.write_text("")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))},
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(workspace),
        **{name: str(path) for name, path in files.items()},
        **{f"INPUT_{name.upper()}": value for name, value in inputs.items()},
        **(extra_env or {}),
    }
    done = subprocess.run(
        [sys.executable, "-m", "shipline", "bump-config-repo"],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    commands = [c for c in map(parse_command, done.stdout.splitlines()) if c is not None]
    outputs = parse_key_values(files["GITHUB_OUTPUT"])
    return (
        done.returncode,
        commands,
        outputs,
        files["GITHUB_STEP_SUMMARY"].read_text(),
        done.stdout + done.stderr,
    )
