"""sign then verify with the real sigstore Signer/Verifier against the local UNTRUSTED
instance and the real loopback registry, run in-process under a socket guard."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from shipline.oci.client import RegistryClient, referrers_tag
from shipline.sign.statements import COSIGN_SIGN, CYCLONEDX, SLSA_PROVENANCE
from shipline.sigstore_local.instance import LocalSigstore
from shipline.sigstore_local.oidc import github_claims
from tests.support.registry import LocalRegistry
from tests.support.sigstore import (
    REF,
    REPOSITORY,
    SHA,
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

SBOM = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": []}
BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"


@pytest.fixture(scope="module")
def image(registry: LocalRegistry) -> PushedImage:
    return PushedImage(registry.host, "acme/shop", push_image(registry.url, "acme/shop", "signed"))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("workspace")
    (root / "reports").mkdir()
    (root / "reports" / "junit.xml").write_text("<testsuite tests='3' failures='0'/>")
    (root / "reports" / "scan.sarif").write_text('{"version": "2.1.0", "runs": []}')
    (root / "sbom.cdx.json").write_text(json.dumps(SBOM))
    return root


@pytest.fixture(scope="module")
def signed(
    image: PushedImage,
    workspace: Path,
    local_sigstore: LocalSigstore,
    trust_config_file: Path,
) -> StepResult:
    """One signing run the verify tests share (module scope: signing costs log entries)."""
    with pytest.MonkeyPatch.context() as patch:
        return run_sign_step(
            patch,
            workspace,
            runner_environment(local_sigstore),
            options(
                image=image.pinned,
                trust_config=str(trust_config_file),
                sbom="sbom.cdx.json",
                test_results="reports/junit.xml",
                scan_results="reports/scan.sarif",
                resolved_dependencies="127.0.0.1:5000/base@sha256:" + "c" * 64,
                output_dir="bundles",
            ),
        )


def test_sign_writes_three_bundles_and_attaches_them_by_tag_fallback(
    signed: StepResult, image: PushedImage, registry: LocalRegistry, workspace: Path
) -> None:
    assert signed.code == 0, signed.summary
    outputs = signed.outputs
    assert outputs["digest"] == image.digest
    assert outputs["predicate-types"].split(",") == [COSIGN_SIGN, SLSA_PROVENANCE, CYCLONEDX]
    assert outputs["attach-method"] == "tag-fallback"  # distribution 2.8 has no referrers API
    bundles = outputs["bundles"].splitlines()
    assert [Path(b).name for b in bundles] == [
        "signature.sigstore.json",
        "provenance.sigstore.json",
        "sbom.sigstore.json",
    ]
    assert outputs["signature-bundle"] == str(workspace / "bundles" / "signature.sigstore.json")
    client = RegistryClient(registry.host)
    index = client.get_manifest("acme/shop", referrers_tag(image.digest))
    assert index is not None
    listed = [m["digest"] for m in index.json()["manifests"]]
    assert listed == outputs["referrers"].splitlines()
    referrer = client.get_manifest("acme/shop", listed[0])
    assert referrer is not None
    manifest = referrer.json()
    assert manifest["artifactType"] == BUNDLE_TYPE
    assert manifest["subject"]["digest"] == image.digest
    assert manifest["annotations"]["dev.sigstore.bundle.predicateType"] == COSIGN_SIGN
    assert "UNTRUSTED" in signed.summary


def test_provenance_records_the_github_context_and_links_reports_by_digest(
    signed: StepResult, workspace: Path
) -> None:
    bundle = json.loads(Path(signed.outputs["provenance-bundle"]).read_text())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    predicate = statement["predicate"]
    definition, details = predicate["buildDefinition"], predicate["runDetails"]
    assert definition["externalParameters"]["workflow"] == {
        "ref": REF,
        "repository": f"https://github.com/{REPOSITORY}",
        "path": WORKFLOW,
    }
    assert definition["resolvedDependencies"][0]["digest"] == {"gitCommit": SHA}
    assert definition["resolvedDependencies"][1]["digest"] == {"sha256": "c" * 64}
    assert details["metadata"]["invocationId"].endswith("/actions/runs/4242/attempts/2")
    assert details["builder"]["id"] == f"https://github.com/{REPOSITORY}/{WORKFLOW}@{REF}"
    junit = hashlib.sha256((workspace / "reports" / "junit.xml").read_bytes()).hexdigest()
    assert {
        "name": "junit.xml",
        "uri": "reports/junit.xml",
        "digest": {"sha256": junit},
        "annotations": {"kind": "test-results"},
    } in details["byproducts"]
    assert [b["annotations"]["kind"] for b in details["byproducts"]] == [
        "test-results",
        "scan-results",
    ]


def test_verify_fetches_referrers_and_accepts_the_expected_identity(
    signed: StepResult,
    image: PushedImage,
    workspace: Path,
    trust_config_file: Path,
    local_sigstore: LocalSigstore,
    loopback_only: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = options(
        mode="verify",
        image=image.pinned,
        trust_config=str(trust_config_file),
        repository=REPOSITORY,
        workflow=WORKFLOW,
        ref="refs/heads/*",
        issuer=local_sigstore.oidc_issuer,
        predicate_types=",".join([COSIGN_SIGN, SLSA_PROVENANCE, CYCLONEDX]),
    )
    result = run_sign_step(monkeypatch, workspace, {}, args, capsys)
    assert result.code == 0, result.commands
    assert result.outputs["verified"] == "true"
    assert result.outputs["reason"] == ""
    assert result.outputs["predicate-types"].split(",") == sorted(
        [COSIGN_SIGN, SLSA_PROVENANCE, CYCLONEDX]
    )
    assert loopback_only and all(host == "127.0.0.1" for host in loopback_only)


def test_an_image_missing_from_the_registry_is_not_signed_at_all(
    registry: LocalRegistry,
    local_sigstore: LocalSigstore,
    trust_config_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    entries = local_sigstore.log.size
    missing = f"{registry.host}/acme/shop@sha256:{'0' * 64}"
    args = options(image=missing, trust_config=str(trust_config_file), provenance="false")
    result = run_sign_step(monkeypatch, tmp_path, runner_environment(local_sigstore), args, capsys)
    assert result.code == 1
    assert result.messages("error") == [f"{missing} is not in the registry: push the image first"]
    assert local_sigstore.log.size == entries  # nothing was logged
    assert not (tmp_path / "sigstore-bundles").exists()


def test_an_explicit_identity_token_signs_without_ambient_credentials(
    local_sigstore: LocalSigstore,
    trust_config_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    claims = github_claims(REPOSITORY, WORKFLOW, "refs/tags/v2.0.0", SHA)
    token = local_sigstore.issuer.mint(claims, "sigstore")
    digest = "sha256:" + "e" * 64
    args = options(
        image=f"127.0.0.1:1/acme/shop@{digest}",
        identity_token=token,
        trust_config=str(trust_config_file),
        provenance="false",
        attach="false",
    )
    signed = run_sign_step(monkeypatch, tmp_path, {}, args, capsys)
    assert signed.code == 0, signed.commands
    assert signed.messages("add-mask") == [token]
    assert signed.outputs["referrers"] == "" and signed.outputs["attach-method"] == ""
    verify = options(
        mode="verify",
        image=f"127.0.0.1:1/acme/shop@{digest}",
        bundles=signed.outputs["signature-bundle"],
        trust_config=str(trust_config_file),
        repository=REPOSITORY,
        ref="refs/tags/v*",
        issuer=local_sigstore.oidc_issuer,
    )
    assert run_sign_step(monkeypatch, tmp_path, {}, verify, capsys).outputs["verified"] == "true"


@pytest.mark.parametrize(
    ("minter", "claims", "detail"),
    [
        ("other", github_claims(REPOSITORY, WORKFLOW, REF, SHA), "signature does not verify"),
        ("local", {"repository": REPOSITORY}, "not a GitHub Actions token: no ref, sha"),
    ],
    ids=["another-issuers-token", "token-without-workflow-claims"],
)
def test_the_local_ca_refuses_tokens_it_cannot_trust(
    minter: str,
    claims: dict[str, str],
    detail: str,
    local_sigstore: LocalSigstore,
    other_sigstore: LocalSigstore,
    trust_config_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    issuer = (other_sigstore if minter == "other" else local_sigstore).issuer
    token = issuer.mint(claims, "sigstore")
    args = options(
        image="127.0.0.1:1/acme/shop@sha256:" + "e" * 64,
        identity_token=token,
        trust_config=str(trust_config_file),
        provenance="false",
        attach="false",
    )
    result = run_sign_step(monkeypatch, tmp_path, {}, args, capsys)
    assert result.code == 1
    [error] = result.messages("error")
    assert error.startswith(f"signing with {trust_config_file} failed") and detail in error
