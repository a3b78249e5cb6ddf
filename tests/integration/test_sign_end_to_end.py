"""sign then verify with the real sigstore Signer/Verifier against the local UNTRUSTED
instance and the real loopback registry, run in-process under a socket guard."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shipline.cli import main
from shipline.oci.client import RegistryClient, referrers_tag
from shipline.sign.statements import COSIGN_SIGN, CYCLONEDX, SLSA_PROVENANCE
from shipline.sigstore_local.instance import LocalSigstore
from tests.runner_protocol import parse_key_values
from tests.support.registry import LocalRegistry
from tests.support.sigstore import (
    REF,
    REPOSITORY,
    SHA,
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

SBOM = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": []}
BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"


@dataclass
class Run:
    code: int
    outputs: dict[str, str]
    summary: str
    stdout: str


def run_action(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    workspace: Path,
    env: dict[str, str],
    args: list[str],
) -> Run:
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
        capsys.readouterr()
        code = main(["sign", *args])
        stdout = capsys.readouterr().out
    return Run(code, parse_key_values(output), summary.read_text(), stdout)


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
) -> Iterator[Run]:
    """One signing run the verify tests share (module scope: signing costs log entries)."""
    with pytest.MonkeyPatch.context() as patch:
        capture = _Capture()
        yield _sign(patch, capture, workspace, local_sigstore, trust_config_file, image)


class _Capture:
    """A stand-in for capsys in module-scoped fixtures: stdout is not inspected there."""

    def readouterr(self) -> object:
        return type("Out", (), {"out": ""})()


def _sign(
    patch: pytest.MonkeyPatch,
    capture: object,
    workspace: Path,
    sigstore: LocalSigstore,
    trust: Path,
    image: PushedImage,
) -> Run:
    env = runner_environment(sigstore)
    output, summary = workspace / "sign-output.txt", workspace / "sign-summary.md"
    output.write_text("")
    summary.write_text("")
    for name, value in {
        **env,
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
    }.items():
        patch.setenv(name, value)
    code = main(
        [
            "sign",
            "--image", image.pinned,
            "--trust-config", str(trust),
            "--sbom", "sbom.cdx.json",
            "--test-results", "reports/junit.xml",
            "--scan-results", "reports/scan.sarif",
            "--resolved-dependencies", "127.0.0.1:5000/base@sha256:" + "c" * 64,
            "--output-dir", "bundles",
        ]
    )  # fmt: skip
    return Run(code, parse_key_values(output), summary.read_text(), "")


def test_sign_writes_three_bundles_and_attaches_them_by_tag_fallback(
    signed: Run, image: PushedImage, registry: LocalRegistry, workspace: Path
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
    signed: Run, workspace: Path
) -> None:
    import base64
    import hashlib

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


def verify_args(image: PushedImage, trust: Path, **overrides: str) -> list[str]:
    values = {
        "mode": "verify",
        "image": image.pinned,
        "trust-config": str(trust),
        "repository": REPOSITORY,
        "workflow": WORKFLOW,
        "ref": "refs/heads/*",
        "predicate-types": ",".join([COSIGN_SIGN, SLSA_PROVENANCE, CYCLONEDX]),
        **overrides,
    }
    return [item for name, value in values.items() for item in (f"--{name}", value)]


def test_verify_fetches_referrers_and_accepts_the_expected_identity(
    signed: Run,
    image: PushedImage,
    workspace: Path,
    trust_config_file: Path,
    local_sigstore: LocalSigstore,
    loopback_only: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = verify_args(image, trust_config_file, issuer=local_sigstore.oidc_issuer)
    result = run_action(monkeypatch, capsys, workspace, {}, args)
    assert result.code == 0, result.stdout
    assert result.outputs["verified"] == "true"
    assert result.outputs["reason"] == ""
    assert result.outputs["predicate-types"].split(",") == sorted(
        [COSIGN_SIGN, SLSA_PROVENANCE, CYCLONEDX]
    )
    assert loopback_only and all(host == "127.0.0.1" for host in loopback_only)
