"""Every way a deploy gate must say no: wrong identity, other digest, no signature, tampered
payload/SET/checkpoint, another instance's trust root. Real Verifier, real registry, offline."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shipline.cli import main
from shipline.sign.statements import COSIGN_SIGN, SLSA_PROVENANCE
from shipline.sigstore_local.instance import LocalSigstore
from tests.runner_protocol import parse_command, parse_key_values
from tests.support.registry import LocalRegistry
from tests.support.sigstore import (
    REPOSITORY,
    WORKFLOW,
    PushedImage,
    local_sigstore,
    loopback_only,
    other_sigstore,
    push_image,
    runner_environment,
    trust_config_file,
)

__all__ = ["local_sigstore", "loopback_only", "other_sigstore", "trust_config_file"]


def run_cli(
    monkeypatch: pytest.MonkeyPatch, workspace: Path, env: dict[str, str], args: list[str]
) -> tuple[int, dict[str, str], str]:
    output, summary = workspace / "output.txt", workspace / "summary.md"
    output.write_text("")
    summary.write_text("")
    with monkeypatch.context() as patch:
        for name, value in {
            **env,
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
        }.items():
            patch.setenv(name, value)
        code = main(["sign", *args])
    return code, parse_key_values(output), summary.read_text()


def options(**values: str) -> list[str]:
    return [
        item for name, value in values.items() for item in (f"--{name.replace('_', '-')}", value)
    ]


@pytest.fixture(scope="module")
def images(registry: LocalRegistry) -> dict[str, PushedImage]:
    return {
        name: PushedImage(registry.host, "acme/gate", push_image(registry.url, "acme/gate", name))
        for name in ("signed", "unsigned")
    }


@pytest.fixture(scope="module")
def signed_workspace(
    tmp_path_factory: pytest.TempPathFactory,
    images: dict[str, PushedImage],
    local_sigstore: LocalSigstore,
    trust_config_file: Path,
) -> Path:
    workspace = tmp_path_factory.mktemp("gate")
    with pytest.MonkeyPatch.context() as patch:
        code, outputs, _ = run_cli(
            patch,
            workspace,
            runner_environment(local_sigstore),
            options(
                image=images["signed"].pinned,
                trust_config=str(trust_config_file),
                output_dir="bundles",
            ),
        )
    assert code == 0
    assert outputs["attach-method"] == "tag-fallback"
    return workspace


def verify(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    workspace: Path,
    image: PushedImage,
    trust: Path,
    issuer: str,
    **overrides: str,
) -> tuple[int, dict[str, str], list[str]]:
    values = {
        "mode": "verify",
        "image": image.pinned,
        "trust_config": str(trust),
        "repository": REPOSITORY,
        "workflow": WORKFLOW,
        "ref": "refs/heads/main",
        "issuer": issuer,
        **overrides,
    }
    capsys.readouterr()
    code, outputs, _ = run_cli(monkeypatch, workspace, {}, options(**values))
    errors = [
        parsed[2]
        for line in capsys.readouterr().out.splitlines()
        if (parsed := parse_command(line)) and parsed[0] == "error"
    ]
    return code, outputs, errors


def test_untampered_bundles_from_the_registry_verify(
    signed_workspace: Path,
    images: dict[str, PushedImage],
    trust_config_file: Path,
    local_sigstore: LocalSigstore,
    loopback_only: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, outputs, errors = verify(
        monkeypatch,
        capsys,
        signed_workspace,
        images["signed"],
        trust_config_file,
        local_sigstore.oidc_issuer,
    )
    assert (code, outputs["verified"], errors) == (0, "true", [])


@pytest.mark.parametrize(
    ("overrides", "detail"),
    [
        ({"repository": "evil/shop"}, "repository is acme/shop, expected evil/shop"),
        ({"ref": "refs/tags/v*"}, "ref is refs/heads/main, expected refs/tags/v*"),
        ({"workflow": ".github/workflows/other.yml"}, "workflow is .github/workflows/release.yml"),
        (
            {"issuer": "https://token.actions.githubusercontent.com"},
            "expected https://token.actions.githubusercontent.com",
        ),
    ],
    ids=["wrong-repository", "wrong-ref", "wrong-workflow", "wrong-issuer"],
)
def test_a_signer_other_than_the_expected_identity_is_rejected(
    overrides: dict[str, str],
    detail: str,
    signed_workspace: Path,
    images: dict[str, PushedImage],
    trust_config_file: Path,
    local_sigstore: LocalSigstore,
    loopback_only: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    arguments = {"issuer": local_sigstore.oidc_issuer, **overrides}
    issuer = arguments.pop("issuer")
    code, outputs, errors = verify(
        monkeypatch,
        capsys,
        signed_workspace,
        images["signed"],
        trust_config_file,
        issuer,
        **arguments,
    )
    assert code == 1
    assert outputs["verified"] == "false"
    assert outputs["reason"] == "wrong-identity"
    assert len(errors) == 1 and detail in errors[0]


def test_an_image_without_referrers_has_no_signature(
    signed_workspace: Path,
    images: dict[str, PushedImage],
    trust_config_file: Path,
    local_sigstore: LocalSigstore,
    loopback_only: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, outputs, errors = verify(
        monkeypatch,
        capsys,
        signed_workspace,
        images["unsigned"],
        trust_config_file,
        local_sigstore.oidc_issuer,
    )
    assert (code, outputs["reason"]) == (1, "no-signature")
    assert errors == [f"no signature: no Sigstore bundle was found for {images['unsigned'].digest}"]


def test_a_bundle_for_another_digest_is_rejected(
    signed_workspace: Path,
    images: dict[str, PushedImage],
    trust_config_file: Path,
    local_sigstore: LocalSigstore,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, outputs, errors = verify(
        monkeypatch,
        capsys,
        signed_workspace,
        images["unsigned"],
        trust_config_file,
        local_sigstore.oidc_issuer,
        bundles="bundles/signature.sigstore.json",
    )
    assert (code, outputs["reason"]) == (1, "wrong-digest")
    assert f"signs {images['signed'].digest}, not {images['unsigned'].digest}" in errors[0]


def _payload(bundle: dict[str, Any]) -> None:
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement["predicateType"] = SLSA_PROVENANCE  # claim more than was signed
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()


def _set(bundle: dict[str, Any]) -> None:
    promise = bundle["verificationMaterial"]["tlogEntries"][0]["inclusionPromise"]
    raw = bytearray(base64.b64decode(promise["signedEntryTimestamp"]))
    raw[-1] ^= 0x01
    promise["signedEntryTimestamp"] = base64.b64encode(bytes(raw)).decode()


def _integrated_time(bundle: dict[str, Any]) -> None:
    entry = bundle["verificationMaterial"]["tlogEntries"][0]
    entry["integratedTime"] = str(int(entry["integratedTime"]) - 60)


def _checkpoint(bundle: dict[str, Any]) -> None:
    checkpoint = bundle["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]
    origin, size, rest = checkpoint["envelope"].split("\n", 2)
    checkpoint["envelope"] = f"{origin}\n{int(size) + 1}\n{rest}"


def _json(bundle: dict[str, Any]) -> None:
    del bundle["verificationMaterial"]["tlogEntries"]


@pytest.mark.parametrize(
    ("tamper", "detail"),
    [
        (_payload, "DSSE: invalid signature"),
        (_set, "SET: invalid inclusion promise"),
        (_integrated_time, "not valid at validation time"),
        (_checkpoint, "checkpoint: invalid signature"),
        (_json, "failed to load bundle"),
    ],
    ids=[
        "modified-payload",
        "modified-set",
        "modified-integrated-time",
        "modified-checkpoint",
        "stripped-log-entry",
    ],
)
def test_a_tampered_bundle_is_rejected(
    tamper: Callable[[dict[str, Any]], None],
    detail: str,
    signed_workspace: Path,
    images: dict[str, PushedImage],
    trust_config_file: Path,
    local_sigstore: LocalSigstore,
    loopback_only: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bundle = json.loads((signed_workspace / "bundles" / "signature.sigstore.json").read_text())
    tamper(bundle)
    tampered = signed_workspace / f"tampered-{tamper.__name__.strip('_')}.sigstore.json"
    tampered.write_text(json.dumps(bundle))
    code, outputs, errors = verify(
        monkeypatch,
        capsys,
        signed_workspace,
        images["signed"],
        trust_config_file,
        local_sigstore.oidc_issuer,
        bundles=tampered.name,
    )
    assert (code, outputs["reason"]) == (1, "tampered-bundle")
    assert detail in errors[0]


def test_another_instances_trust_root_is_untrusted(
    signed_workspace: Path,
    images: dict[str, PushedImage],
    other_sigstore: LocalSigstore,
    local_sigstore: LocalSigstore,
    loopback_only: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    other_trust = other_sigstore.write_trust_config(signed_workspace / "other-trust.json")
    code, outputs, errors = verify(
        monkeypatch,
        capsys,
        signed_workspace,
        images["signed"],
        other_trust,
        local_sigstore.oidc_issuer,
    )
    assert (code, outputs["reason"]) == (1, "untrusted-root")
    assert "certificate chain" in errors[0]


def test_a_required_predicate_that_was_never_signed_is_missing(
    signed_workspace: Path,
    images: dict[str, PushedImage],
    trust_config_file: Path,
    local_sigstore: LocalSigstore,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, outputs, errors = verify(
        monkeypatch,
        capsys,
        signed_workspace,
        images["signed"],
        trust_config_file,
        local_sigstore.oidc_issuer,
        predicate_types=f"{COSIGN_SIGN},https://cyclonedx.org/bom",
    )
    assert (code, outputs["reason"]) == (1, "missing-predicate")
    assert outputs["predicate-types"] == f"{COSIGN_SIGN},{SLSA_PROVENANCE}"
    assert "not verified for https://cyclonedx.org/bom" in errors[0]
