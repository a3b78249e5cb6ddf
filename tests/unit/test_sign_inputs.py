"""Bad input to ``shipline sign`` ends with exit 2 and one line naming input, value and fix,
before anything is signed, pushed or written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipline.sigstore_local.instance import LocalSigstore
from tests.support.sigstore import options, run_sign_step

DIGEST = "sha256:" + "a" * 64
TOKEN_ENV = {
    "ACTIONS_ID_TOKEN_REQUEST_URL": "http://127.0.0.1:9/token?api-version=2.0",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token",
}


def run(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    env: dict[str, str] | None = None,
) -> tuple[int, list[str]]:
    """Runs the step; returns its exit code and its error lines, after checking that bad
    input left nothing behind."""
    for name in (
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "GITHUB_REPOSITORY",
    ):
        monkeypatch.delenv(name, raising=False)
    result = run_sign_step(monkeypatch, tmp_path, env or {}, ["--output-dir", "out", *args], capsys)
    assert not (tmp_path / "out").exists(), "bad input must leave nothing behind"
    assert result.outputs == {}
    return result.code, result.messages("error")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--image", "127.0.0.1:5000/app", "--digest", "sha256:abc"],
            "input 'digest' got 'sha256:abc': expected a digest sha256:<64 lower-case hex>",
        ),
        (
            ["--image", "127.0.0.1:5000/app", "--digest", "md5:" + "a" * 32],
            "input 'digest' got 'md5:",
        ),
        (
            ["--image", "127.0.0.1:5000/app:latest"],
            "input 'image' got '127.0.0.1:5000/app:latest': expected a reference with a digest",
        ),
        (
            ["--image", "127.0.0.1:5000/App@" + DIGEST],
            "input 'image' got '127.0.0.1:5000/App@",
        ),
        (
            ["--image", f"127.0.0.1:5000/app@{DIGEST}", "--digest", "sha256:" + "b" * 64],
            "they name different digests",
        ),
        (
            ["--image", f"127.0.0.1:5000/app@{DIGEST}", "--mode", "attest"],
            "input 'mode' got 'attest': expected one of sign, verify",
        ),
    ],
    ids=["short-digest", "other-algorithm", "tag-only", "bad-name", "two-digests", "bad-mode"],
)
def test_bad_image_or_digest_exits_2_with_one_line(
    args: list[str],
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, errors = run(tmp_path, monkeypatch, capsys, args, TOKEN_ENV)
    assert code == 2
    assert len(errors) == 1 and expected in errors[0], errors


def test_keyless_signing_without_a_token_says_how_to_grant_id_token_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, errors = run(tmp_path, monkeypatch, capsys, ["--image", f"127.0.0.1:5000/app@{DIGEST}"])
    assert code == 2
    assert len(errors) == 1
    assert "permissions: id-token: write" in errors[0]
    assert "ACTIONS_ID_TOKEN_REQUEST_URL" in errors[0]


def test_provenance_outside_actions_names_the_missing_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, errors = run(
        tmp_path, monkeypatch, capsys, ["--image", f"127.0.0.1:5000/app@{DIGEST}"], TOKEN_ENV
    )
    assert code == 2
    assert "GITHUB_REPOSITORY" in errors[0] and "provenance: false" in errors[0]


@pytest.mark.parametrize(
    ("files", "args", "expected"),
    [
        (
            {"sbom.json": json.dumps({"spdxVersion": "SPDX-2.3"})},
            ["--sbom", "sbom.json"],
            "a CycloneDX JSON SBOM",
        ),
        (
            {"sbom.json": "{not json"},
            ["--sbom", "sbom.json"],
            "input 'sbom' got 'sbom.json': expected a CycloneDX JSON file",
        ),
        (
            {},
            ["--test-results", "missing.xml"],
            "input 'test-results' got 'missing.xml': expected existing files",
        ),
        (
            {},
            ["--resolved-dependencies", "base:latest"],
            "input 'resolved-dependencies' got 'base:latest'",
        ),
        ({}, ["--trust-config", "nowhere.json"], "input 'trust-config' got 'nowhere.json'"),
        (
            {"trust.json": "{}"},
            [
                "--trust-config",
                "trust.json",
                "--provenance",
                "false",
                "--attach",
                "false",
                "--identity-token",
                "x.y.z",
            ],
            "expected a Sigstore ClientTrustConfig JSON",
        ),
        ({}, ["--registry-username", "me"], "give both or neither"),
    ],
    ids=[
        "spdx-sbom",
        "broken-sbom",
        "missing-report",
        "dependency-without-digest",
        "missing-trust-config",
        "invalid-trust-config",
        "username-alone",
    ],
)
def test_bad_attestation_inputs_exit_2(
    files: dict[str, str],
    args: list[str],
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    env = {
        **TOKEN_ENV,
        "GITHUB_REPOSITORY": "acme/shop",
        "GITHUB_WORKFLOW_REF": "acme/shop/.github/workflows/r.yml@refs/heads/main",
        "GITHUB_SHA": "1" * 40,
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_RUN_ID": "7",
    }
    code, errors = run(
        tmp_path, monkeypatch, capsys, ["--image", f"127.0.0.1:5000/app@{DIGEST}", *args], env
    )
    assert code == 2
    assert len(errors) == 1 and expected in errors[0], errors


def test_an_explicit_token_that_is_not_a_jwt_is_bad_input_and_stays_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    instance = LocalSigstore(tmp_path / "state")  # never started: no request may reach it
    trust = instance.write_trust_config(tmp_path / "trust.json")
    instance.stop()
    args = options(
        image=f"127.0.0.1:5000/app@{DIGEST}",
        identity_token="not-a-secret-jwt",
        trust_config=str(trust),
        provenance="false",
        attach="false",
    )
    result = run_sign_step(monkeypatch, tmp_path, {}, args, capsys)
    assert result.code == 2
    assert result.messages("add-mask") == ["not-a-secret-jwt"]
    [error] = result.messages("error")
    assert "input 'identity-token' got '***'" in error and "not-a-secret-jwt" not in error


def test_verify_needs_the_expected_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, errors = run(
        tmp_path,
        monkeypatch,
        capsys,
        ["--mode", "verify", "--image", f"127.0.0.1:5000/app@{DIGEST}"],
    )
    assert code == 2
    assert errors == [
        "input 'repository' got '': expected the repository that must have signed, as owner/name"
    ]
