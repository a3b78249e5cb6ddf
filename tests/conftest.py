"""Shared fixtures: a clean runner environment so no test leaks into the real one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.registry import LocalRegistry

ROOT = Path(__file__).resolve().parent.parent
RUNNER_VARIABLES = (
    "GITHUB_ACTIONS",
    "GITHUB_OUTPUT",
    "GITHUB_ENV",
    "GITHUB_PATH",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_WORKSPACE",
    "RUNNER_DEBUG",
)


@pytest.fixture(autouse=True)
def _no_runner_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start outside Actions and without INPUT_* leftovers from the calling shell."""
    for name in RUNNER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("INPUT_"):
            monkeypatch.delenv(name)


@pytest.fixture
def runner_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Path]]:
    """A fake runner: the files a step writes to, and GITHUB_ACTIONS=true."""
    files = {
        "GITHUB_OUTPUT": tmp_path / "output",
        "GITHUB_ENV": tmp_path / "env",
        "GITHUB_PATH": tmp_path / "path",
        "GITHUB_STEP_SUMMARY": tmp_path / "summary.md",
    }
    for name, path in files.items():
        path.write_text("")
        monkeypatch.setenv(name, str(path))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    yield files


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """An anonymous loopback registry shared by the session's tests."""
    with LocalRegistry(tmp_path_factory.mktemp("registry")) as running:
        yield running


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """A loopback registry that wants basic auth (user ``shipline``, password ``s3cret-pass``)."""
    root = tmp_path_factory.mktemp("auth-registry")
    with LocalRegistry(root, username="shipline", password="s3cret-pass") as running:
        yield running
