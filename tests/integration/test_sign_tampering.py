"""Every way a deploy gate must say no: wrong identity, other digest, no signature, tampered
payload/SET/checkpoint, another instance's trust root. Real Verifier, real registry, offline,
in-process under the loopback socket guard."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import pytest

from shipline.sign.statements import COSIGN_SIGN, CYCLONEDX, SLSA_PROVENANCE
from shipline.sigstore_local.instance import LocalSigstore
from tests.support.registry import LocalRegistry
from tests.support.sigstore import (
    REPOSITORY,
    WORKFLOW,
    PushedImage,
    StepResult,
    local_sigstore,
    loopback_only,
    options,
    other_sigstore,
    push_image,
    run_sign_step,
    runner_environment,
    trust_config_file,
)

__all__ = ["local_sigstore", "loopback_only", "other_sigstore", "trust_config_file"]


class Gate(Protocol):
    def __call__(self, **overrides: str) -> StepResult: ...


@pytest.fixture(scope="module")
def images(registry: LocalRegistry) -> dict[str, PushedImage]:
    return {
        name: PushedImage(registry.host, "acme/gate", push_image(registry.url, "acme/gate", name))
        for name in ("signed", "unsigned")
    }


@pytest.fixture(scope="module")
def workspace(
    tmp_path_factory: pytest.TempPathFactory,
    images: dict[str, PushedImage],
    local_sigstore: LocalSigstore,
    trust_config_file: Path,
) -> Path:
    """Signs the image once (signature and provenance) for every test of the module."""
    workspace = tmp_path_factory.mktemp("gate")
    with pytest.MonkeyPatch.context() as patch:
        result = run_sign_step(
            patch,
            workspace,
            runner_environment(local_sigstore),
            options(
                image=images["signed"].pinned,
                trust_config=str(trust_config_file),
                output_dir="bundles",
            ),
        )
    assert result.code == 0
    assert result.outputs["attach-method"] == "tag-fallback"
    return workspace


@pytest.fixture
def gate(
    workspace: Path,
    images: dict[str, PushedImage],
    trust_config_file: Path,
    local_sigstore: LocalSigstore,
    loopback_only: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Gate:
    """Runs verify mode for the signed image with the signer's identity, unless overridden."""

    def check(**overrides: str) -> StepResult:
        values = {
            "mode": "verify",
            "image": images["signed"].pinned,
            "trust_config": str(trust_config_file),
            "repository": REPOSITORY,
            "workflow": WORKFLOW,
            "ref": "refs/heads/main",
            "issuer": local_sigstore.oidc_issuer,
            **overrides,
        }
        return run_sign_step(monkeypatch, workspace, {}, options(**values), capsys)

    return check


def rejected(result: StepResult, reason: str) -> str:
    """The one error line of a gate that said no for ``reason``."""
    assert (result.code, result.outputs["verified"], result.outputs["reason"]) == (
        1,
        "false",
        reason,
    )
    [error] = result.messages("error")
    return error


def test_untampered_bundles_from_the_registry_verify(gate: Gate, loopback_only: list[str]) -> None:
    result = gate()
    assert (result.code, result.outputs["verified"], result.messages("error")) == (0, "true", [])
    assert loopback_only and set(loopback_only) == {"127.0.0.1"}


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
    gate: Gate, overrides: dict[str, str], detail: str
) -> None:
    assert detail in rejected(gate(**overrides), "wrong-identity")


def test_an_image_without_referrers_has_no_signature(
    gate: Gate, images: dict[str, PushedImage]
) -> None:
    error = rejected(gate(image=images["unsigned"].pinned), "no-signature")
    assert error == f"no signature: no Sigstore bundle was found for {images['unsigned'].digest}"


def test_a_bundle_for_another_digest_is_rejected(
    gate: Gate, images: dict[str, PushedImage]
) -> None:
    result = gate(image=images["unsigned"].pinned, bundles="bundles/signature.sigstore.json")
    signed, unsigned = images["signed"].digest, images["unsigned"].digest
    assert f"signs {signed}, not {unsigned}" in rejected(result, "wrong-digest")


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


def _inclusion_proof(bundle: dict[str, Any]) -> None:
    proof = bundle["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
    proof["rootHash"] = base64.b64encode(b"\x00" * 32).decode()


def _log_entry(bundle: dict[str, Any]) -> None:
    del bundle["verificationMaterial"]["tlogEntries"]


@pytest.mark.parametrize(
    ("tamper", "detail"),
    [
        (_payload, "DSSE: invalid signature"),
        (_set, "SET: invalid inclusion promise"),
        (_integrated_time, "not valid at validation time"),
        (_checkpoint, "checkpoint: invalid signature"),
        (_inclusion_proof, "inclusion proof contains invalid root hash"),
        (_log_entry, "failed to load bundle"),
    ],
    ids=lambda value: value.__name__.strip("_") if callable(value) else None,
)
def test_a_tampered_bundle_is_rejected(
    gate: Gate, workspace: Path, tamper: Callable[[dict[str, Any]], None], detail: str
) -> None:
    bundle = json.loads((workspace / "bundles" / "signature.sigstore.json").read_text())
    tamper(bundle)
    tampered = workspace / f"tampered{tamper.__name__}.sigstore.json"
    tampered.write_text(json.dumps(bundle))
    assert detail in rejected(gate(bundles=tampered.name), "tampered-bundle")


def test_another_instances_trust_root_is_untrusted(
    gate: Gate, workspace: Path, other_sigstore: LocalSigstore
) -> None:
    other_trust = other_sigstore.write_trust_config(workspace / "other-trust.json")
    assert "certificate chain" in rejected(gate(trust_config=str(other_trust)), "untrusted-root")


def test_the_public_good_root_does_not_trust_the_local_instance(
    gate: Gate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert "certificate chain" in rejected(gate(trust_config=""), "untrusted-root")


def test_a_required_predicate_that_was_never_signed_is_missing(gate: Gate) -> None:
    result = gate(predicate_types=f"{COSIGN_SIGN},{CYCLONEDX}")
    assert f"not verified for {CYCLONEDX}" in rejected(result, "missing-predicate")
    assert result.outputs["predicate-types"] == f"{COSIGN_SIGN},{SLSA_PROVENANCE}"
