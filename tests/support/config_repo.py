"""A real bare config repository seeded from tests/data/config-repos, and a fake GitHub on it."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.github import FakeGitHub
from tests.paths import ROOT
from tests.support.action_runner import run_action

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
    run = run_action("bump-config-repo", workspace, inputs, env=extra_env, timeout=120)
    return run.code, run.commands, run.outputs, run.summary, run.log
