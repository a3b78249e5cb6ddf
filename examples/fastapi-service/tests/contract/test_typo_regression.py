"""Proof that the contract test catches the typo this service's story is about.

The service is copied, story/typo-fix.patch is reverse-applied to bring back `recieved_at`, and
the contract test is run on that copy in a separate interpreter. The unpatched copy is run the
same way as a control, so a failure cannot come from the copying itself.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.openapi_checks import SERVICE_ROOT

PATCH = Path("story") / "typo-fix.patch"
CONTRACT_TEST = "tests/contract/test_openapi_contract.py"
IGNORED = shutil.ignore_patterns(
    "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".venv", "*.pyc"
)


def _isolated_env(ceiling: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    # Treat the copy as a plain directory even if the temp dir sits inside some repository.
    env["GIT_CEILING_DIRECTORIES"] = str(ceiling)
    return env


def _copy_service(tmp_path: Path) -> Path:
    copy = tmp_path / "fastapi-service"
    shutil.copytree(SERVICE_ROOT, copy, ignore=IGNORED)
    return copy


def _run_contract_test(service: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", CONTRACT_TEST],
        cwd=service,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def git() -> str:
    git = shutil.which("git")
    assert git, "git is required to apply story/typo-fix.patch"
    return git


def test_contract_test_passes_on_an_unpatched_copy(tmp_path: Path) -> None:
    service = _copy_service(tmp_path)

    result = _run_contract_test(service, _isolated_env(tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr


def test_contract_test_fails_on_the_typo_version(tmp_path: Path, git: str) -> None:
    service = _copy_service(tmp_path)
    env = _isolated_env(tmp_path)
    subprocess.run([git, "apply", "-R", str(PATCH)], cwd=service, env=env, check=True, timeout=60)
    assert '"recieved_at"' not in (service / "contract" / "openapi.json").read_text()
    assert "recieved_at" in (service / "app" / "models.py").read_text()

    result = _run_contract_test(service, env)

    output = result.stdout + result.stderr
    # Exit code 1 means tests ran and failed; 2-5 would be a broken run, not a caught typo.
    assert result.returncode == 1, output
    assert "recieved_at" in output
    # Both halves of the contract test catch it: the schema diff and the live response body.
    for failed in ("test_code_serves_the_pinned_contract", "test_response_body_matches_contract"):
        assert f"FAILED {CONTRACT_TEST}::{failed}" in output
