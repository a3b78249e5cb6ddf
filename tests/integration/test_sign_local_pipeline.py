"""The local pipeline run as a runner does it: ``python -m shipline.sigstore_local serve``
grants the job's token through $GITHUB_ENV, then ``python -m shipline sign`` signs and
verifies in separate processes against a registry that wants credentials."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runner_protocol import parse_command, parse_key_values
from tests.support.registry import LocalRegistry
from tests.support.sigstore import REF, REPOSITORY, SHA, WORKFLOW, PushedImage, push_image

READY_TIMEOUT = 20.0


def github_variables() -> dict[str, str]:
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_WORKFLOW_REF": f"{REPOSITORY}/{WORKFLOW}@{REF}",
        "GITHUB_WORKFLOW": "release",
        "GITHUB_SHA": SHA,
        "GITHUB_REF": REF,
        "GITHUB_RUN_ID": "77",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_EVENT_NAME": "push",
    }


def base_environment() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("INPUT_", "GITHUB_", "ACTIONS_", "RUNNER_"))
    }


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    root = tmp_path_factory.mktemp("served")
    trust, github_env = root / "trust-config.json", root / "github_env"
    github_env.write_text("")
    process = subprocess.Popen(
        [sys.executable, "-m", "shipline.sigstore_local", "serve", "--state", str(root / "state"),
         "--trust-config", str(trust), "--grant-from-env", str(github_env)],
        env={**base_environment(), **github_variables()},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    deadline = time.monotonic() + READY_TIMEOUT
    while not trust.exists():
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        assert time.monotonic() < deadline, "the local instance did not write its trust config"
        time.sleep(0.05)
    yield trust, parse_key_values(github_env)
    process.terminate()
    process.wait(timeout=10)
    banner = process.stdout.read() if process.stdout else ""
    assert "UNTRUSTED" in banner


def run_step(
    workspace: Path, env: dict[str, str], inputs: dict[str, str]
) -> tuple[int, dict[str, str], list[tuple[str, dict[str, str], str]], str]:
    files = {
        name: workspace / f"{name.lower()}.txt" for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")
    }
    for path in files.values():
        path.write_text("")
    completed = subprocess.run(
        [sys.executable, "-m", "shipline", "sign"],
        env={
            **base_environment(),
            **env,
            "GITHUB_WORKSPACE": str(workspace),
            **{name: str(path) for name, path in files.items()},
            **{f"INPUT_{name.upper().replace('-', '_')}": value for name, value in inputs.items()},
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    commands = [c for line in completed.stdout.splitlines() if (c := parse_command(line))]
    return (
        completed.returncode,
        parse_key_values(files["GITHUB_OUTPUT"]),
        commands,
        files["GITHUB_STEP_SUMMARY"].read_text() + completed.stderr,
    )


def test_a_local_pipeline_signs_and_a_later_job_verifies(
    served: tuple[Path, dict[str, str]], auth_registry: LocalRegistry, tmp_path: Path
) -> None:
    trust, granted = served
    assert set(granted) == {"ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"}
    image = PushedImage(
        auth_registry.host,
        "acme/shop",
        push_image(auth_registry.url, "acme/shop", "pipeline", ("shipline", "s3cret-pass")),
    )
    credentials = {"registry-username": "shipline", "registry-password": "s3cret-pass"}
    code, outputs, commands, summary = run_step(
        tmp_path,
        {**github_variables(), **granted},
        {"image": image.pinned, "trust-config": str(trust), **credentials},
    )
    assert code == 0, (commands, summary)
    assert ("add-mask", {}, "s3cret-pass") in commands
    assert (
        "warning",
        {},
        "signing with shipline local Sigstore (UNTRUSTED, for testing only): these signatures prove nothing",
    ) in [(name, {}, message) for name, _, message in commands]
    assert outputs["attach-method"] == "tag-fallback"
    assert "s3cret-pass" not in summary
    assert len(outputs["referrers"].splitlines()) == 2  # signature and provenance

    issuer = granted["ACTIONS_ID_TOKEN_REQUEST_URL"].split("/oidc/")[0] + "/oidc"
    code, outputs, commands, summary = run_step(
        tmp_path,
        {"GITHUB_ACTIONS": "true"},
        {
            "mode": "verify",
            "image": image.pinned,
            "trust-config": str(trust),
            "repository": REPOSITORY,
            "workflow": WORKFLOW,
            "ref": REF,
            "issuer": issuer,
            "predicate-types": "https://sigstore.dev/cosign/sign/v1,https://slsa.dev/provenance/v1",
            **credentials,
        },
    )
    assert code == 0, (commands, summary)
    assert outputs["verified"] == "true"
    assert "✅ verified" in summary and "UNTRUSTED" in summary
