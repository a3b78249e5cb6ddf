"""In-toto statements about one image digest: signature, SLSA provenance v1, CycloneDX SBOM.

Plain data in, plain dicts out; the signer wraps each one in a DSSE envelope.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipline.errors import UsageError

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
COSIGN_SIGN = "https://sigstore.dev/cosign/sign/v1"
SLSA_PROVENANCE = "https://slsa.dev/provenance/v1"
CYCLONEDX = "https://cyclonedx.org/bom"
GITHUB_BUILD_TYPE = "https://actions.github.io/buildtypes/workflow/v1"
KNOWN_PREDICATES = {
    COSIGN_SIGN: "signature",
    SLSA_PROVENANCE: "provenance",
    CYCLONEDX: "sbom",
}
_DEPENDENCY = re.compile(r"^(?P<uri>.+)@(?P<algorithm>sha256|sha512):(?P<hex>[0-9a-f]{64,128})$")
_WORKFLOW_REF = re.compile(r"^(?P<repository>[^/]+/[^/]+)/(?P<path>[^@]+)@(?P<ref>.+)$")


@dataclass(frozen=True)
class GitHubContext:
    """The run that signs, as the runner describes it in GITHUB_* variables."""

    server_url: str
    repository: str
    workflow_ref: str  # owner/repo/.github/workflows/x.yml@refs/heads/main
    sha: str
    ref: str
    run_id: str
    run_attempt: str
    event_name: str
    repository_id: str = ""
    repository_owner_id: str = ""
    runner_environment: str = ""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> GitHubContext:
        required = (
            "GITHUB_REPOSITORY",
            "GITHUB_WORKFLOW_REF",
            "GITHUB_SHA",
            "GITHUB_REF",
            "GITHUB_RUN_ID",
        )
        missing = [name for name in required if not environ.get(name)]
        if missing:
            raise UsageError(
                f"input 'provenance' is true but {', '.join(missing)} is unset: provenance is "
                "built from the GitHub context (run inside Actions, or set provenance: false)"
            )
        context = cls(
            server_url=environ.get("GITHUB_SERVER_URL") or "https://github.com",
            repository=environ["GITHUB_REPOSITORY"],
            workflow_ref=environ["GITHUB_WORKFLOW_REF"],
            sha=environ["GITHUB_SHA"],
            ref=environ["GITHUB_REF"],
            run_id=environ["GITHUB_RUN_ID"],
            run_attempt=environ.get("GITHUB_RUN_ATTEMPT") or "1",
            event_name=environ.get("GITHUB_EVENT_NAME", ""),
            repository_id=environ.get("GITHUB_REPOSITORY_ID", ""),
            repository_owner_id=environ.get("GITHUB_REPOSITORY_OWNER_ID", ""),
            runner_environment=environ.get("RUNNER_ENVIRONMENT", ""),
        )
        if not _WORKFLOW_REF.match(context.workflow_ref):
            raise UsageError(
                f"GITHUB_WORKFLOW_REF got '{context.workflow_ref}': expected "
                "owner/repo/<workflow path>@<ref>"
            )
        return context

    @property
    def workflow_path(self) -> str:
        match = _WORKFLOW_REF.match(self.workflow_ref)
        return match.group("path") if match else ""

    @property
    def invocation_uri(self) -> str:
        return (
            f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"
            f"/attempts/{self.run_attempt}"
        )


@dataclass(frozen=True)
class ResourceDescriptor:
    """An in-toto ResourceDescriptor naming a file or artifact by digest."""

    name: str
    uri: str
    digest: dict[str, str]
    annotations: dict[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "uri": self.uri, "digest": dict(self.digest)}
        if self.annotations:
            data["annotations"] = dict(self.annotations)
        return data


def file_descriptor(path: Path, workspace: Path, kind: str) -> ResourceDescriptor:
    """A report linked by its SHA-256, named relative to the workspace."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        uri = path.relative_to(workspace).as_posix()
    except ValueError:
        uri = path.as_posix()
    return ResourceDescriptor(path.name, uri, {"sha256": digest}, {"kind": kind})


def parse_dependency(text: str) -> ResourceDescriptor | None:
    """``<uri>@sha256:<hex>`` as a resolved dependency, or None when it does not parse."""
    match = _DEPENDENCY.match(text.strip())
    if not match:
        return None
    expected = 64 if match.group("algorithm") == "sha256" else 128
    if len(match.group("hex")) != expected:
        return None
    uri = match.group("uri")
    return ResourceDescriptor(
        uri.rsplit("/", 1)[-1], uri, {match.group("algorithm"): match.group("hex")}
    )


def statement(
    subject_name: str, digest: str, predicate_type: str, predicate: dict[str, Any]
) -> dict[str, Any]:
    algorithm, _, hex_digest = digest.partition(":")
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": subject_name, "digest": {algorithm: hex_digest}}],
        "predicateType": predicate_type,
        "predicate": predicate,
    }


def signature_statement(subject_name: str, digest: str) -> dict[str, Any]:
    """The cosign-compatible image signature: the statement itself is the claim."""
    return statement(subject_name, digest, COSIGN_SIGN, {})


def provenance_statement(
    subject_name: str,
    digest: str,
    github: GitHubContext,
    *,
    builder_id: str = "",
    dependencies: Sequence[ResourceDescriptor] = (),
    byproducts: Sequence[ResourceDescriptor] = (),
) -> dict[str, Any]:
    """SLSA provenance v1 for a build run by a GitHub Actions workflow."""
    match = _WORKFLOW_REF.match(github.workflow_ref)
    workflow_repository = match.group("repository") if match else github.repository
    workflow_ref = match.group("ref") if match else github.ref
    source = ResourceDescriptor(
        github.repository,
        f"git+{github.server_url}/{github.repository}@{github.ref}",
        {"gitCommit": github.sha},
    )
    internal: dict[str, str] = {"event_name": github.event_name}
    for name, value in (
        ("repository_id", github.repository_id),
        ("repository_owner_id", github.repository_owner_id),
        ("runner_environment", github.runner_environment),
    ):
        if value:
            internal[name] = value
    predicate = {
        "buildDefinition": {
            "buildType": GITHUB_BUILD_TYPE,
            "externalParameters": {
                "workflow": {
                    "ref": workflow_ref,
                    "repository": f"{github.server_url}/{workflow_repository}",
                    "path": github.workflow_path,
                }
            },
            "internalParameters": {"github": internal},
            "resolvedDependencies": [d.to_json() for d in (source, *dependencies)],
        },
        "runDetails": {
            "builder": {"id": builder_id or f"{github.server_url}/{github.workflow_ref}"},
            "metadata": {"invocationId": github.invocation_uri},
            "byproducts": [b.to_json() for b in byproducts],
        },
    }
    return statement(subject_name, digest, SLSA_PROVENANCE, predicate)


def sbom_statement(subject_name: str, digest: str, sbom: dict[str, Any]) -> dict[str, Any]:
    return statement(subject_name, digest, CYCLONEDX, sbom)


def subject_digests(document: Mapping[str, Any]) -> list[str]:
    """``algorithm:hex`` of every subject of a statement."""
    found = []
    for subject in document.get("subject") or []:
        if isinstance(subject, dict) and isinstance(subject.get("digest"), dict):
            found += [f"{alg}:{value}" for alg, value in subject["digest"].items()]
    return found
