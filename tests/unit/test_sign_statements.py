"""The in-toto statements the sign action makes, as plain data."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from shipline.errors import UsageError
from shipline.sign import statements

DIGEST = "sha256:" + "d" * 64
ENV = {
    "GITHUB_REPOSITORY": "acme/shop",
    "GITHUB_WORKFLOW_REF": "acme/shop/.github/workflows/release.yml@refs/tags/v1.2.0",
    "GITHUB_SHA": "f" * 40,
    "GITHUB_REF": "refs/tags/v1.2.0",
    "GITHUB_RUN_ID": "99",
    "GITHUB_RUN_ATTEMPT": "3",
    "GITHUB_EVENT_NAME": "push",
    "RUNNER_ENVIRONMENT": "github-hosted",
}


def test_signature_statement_is_cosign_compatible() -> None:
    assert statements.signature_statement("ghcr.io/acme/shop", DIGEST) == {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "ghcr.io/acme/shop", "digest": {"sha256": "d" * 64}}],
        "predicateType": "https://sigstore.dev/cosign/sign/v1",
        "predicate": {},
    }


def test_provenance_from_the_github_context(tmp_path: Path) -> None:
    report = tmp_path / "reports" / "junit.xml"
    report.parent.mkdir()
    report.write_text("<testsuite/>")
    github = statements.GitHubContext.from_environ(ENV)
    byproduct = statements.file_descriptor(report, tmp_path, "test-results")
    document = statements.provenance_statement(
        "ghcr.io/acme/shop", DIGEST, github, byproducts=[byproduct]
    )
    predicate = document["predicate"]
    assert document["predicateType"] == "https://slsa.dev/provenance/v1"
    assert (
        predicate["buildDefinition"]["buildType"]
        == "https://actions.github.io/buildtypes/workflow/v1"
    )
    assert predicate["buildDefinition"]["externalParameters"]["workflow"] == {
        "ref": "refs/tags/v1.2.0",
        "repository": "https://github.com/acme/shop",
        "path": ".github/workflows/release.yml",
    }
    assert predicate["buildDefinition"]["internalParameters"]["github"] == {
        "event_name": "push",
        "runner_environment": "github-hosted",
    }
    assert predicate["buildDefinition"]["resolvedDependencies"] == [
        {
            "name": "acme/shop",
            "uri": "git+https://github.com/acme/shop@refs/tags/v1.2.0",
            "digest": {"gitCommit": "f" * 40},
        }
    ]
    assert predicate["runDetails"]["metadata"]["invocationId"] == (
        "https://github.com/acme/shop/actions/runs/99/attempts/3"
    )
    assert predicate["runDetails"]["byproducts"] == [
        {
            "name": "junit.xml",
            "uri": "reports/junit.xml",
            "digest": {"sha256": hashlib.sha256(b"<testsuite/>").hexdigest()},
            "annotations": {"kind": "test-results"},
        }
    ]


def test_byproduct_digest_is_the_files_sha256(tmp_path: Path) -> None:
    report = tmp_path / "scan.sarif"
    report.write_bytes(b'{"runs": []}')
    descriptor = statements.file_descriptor(report, tmp_path, "scan-results")
    assert descriptor.digest == {"sha256": hashlib.sha256(b'{"runs": []}').hexdigest()}
    assert descriptor.to_json()["annotations"] == {"kind": "scan-results"}


def test_a_custom_builder_id_wins() -> None:
    github = statements.GitHubContext.from_environ(ENV)
    document = statements.provenance_statement(
        "x", DIGEST, github, builder_id="https://builder.example/v1"
    )
    assert document["predicate"]["runDetails"]["builder"]["id"] == "https://builder.example/v1"


def test_missing_github_context_is_bad_input() -> None:
    with pytest.raises(UsageError, match="GITHUB_SHA, GITHUB_RUN_ID is unset"):
        statements.GitHubContext.from_environ(
            {k: v for k, v in ENV.items() if k not in ("GITHUB_SHA", "GITHUB_RUN_ID")}
        )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "127.0.0.1:5000/base@sha256:" + "c" * 64,
            {"name": "base", "uri": "127.0.0.1:5000/base", "digest": {"sha256": "c" * 64}},
        ),
        ("pkg:pypi/fastapi@sha256:" + "0" * 63, None),
        ("base:latest", None),
    ],
)
def test_resolved_dependencies_need_a_digest(text: str, expected: dict[str, object] | None) -> None:
    parsed = statements.parse_dependency(text)
    assert (parsed.to_json() if parsed else None) == expected


def test_sbom_statement_carries_the_bom_and_subject_digests_are_listed() -> None:
    bom = {"bomFormat": "CycloneDX", "specVersion": "1.6"}
    document = statements.sbom_statement("x", DIGEST, bom)
    assert document["predicateType"] == "https://cyclonedx.org/bom"
    assert document["predicate"] == bom
    assert statements.subject_digests(document) == [DIGEST]
