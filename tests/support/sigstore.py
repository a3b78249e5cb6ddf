"""Fixtures for the sign tests: the local UNTRUSTED Sigstore, a tiny image pushed over the
registry HTTP API, GitHub-runner environments, and a guard against off-loopback sockets."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import socket
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from shipline.cli import main
from shipline.sigstore_local.ca import LocalCA
from shipline.sigstore_local.instance import LocalSigstore
from shipline.sigstore_local.oidc import github_claims
from tests.runner_protocol import parse_command, parse_key_values

REPOSITORY = "acme/shop"
WORKFLOW = ".github/workflows/release.yml"
REF = "refs/heads/main"
SHA = "3f786850e387550fdab836ed7e6dc881de23001b"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
Command = tuple[str, dict[str, str], str]


@dataclass(frozen=True)
class StepResult:
    code: int
    outputs: dict[str, str]
    summary: str
    commands: list[Command]

    def messages(self, command: str) -> list[str]:
        return [message for name, _, message in self.commands if name == command]


def run_sign_step(
    monkeypatch: pytest.MonkeyPatch,
    workspace: Path,
    env: dict[str, str],
    args: list[str],
    capsys: pytest.CaptureFixture[str] | None = None,
) -> StepResult:
    """``shipline sign ARGS`` in-process (so a socket guard sees it) as a runner step would
    run; workflow commands are read from stdout when ``capsys`` is given."""
    output, summary = workspace / "output.txt", workspace / "summary.md"
    output.write_text("")
    summary.write_text("")
    with monkeypatch.context() as patch:
        for name, value in {
            "GITHUB_ACTIONS": "true",
            **env,
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
        }.items():
            patch.setenv(name, value)
        if capsys is not None:
            capsys.readouterr()
        code = main(["sign", *args])
    lines = capsys.readouterr().out.splitlines() if capsys is not None else []
    commands = [parsed for line in lines if (parsed := parse_command(line))]
    return StepResult(code, parse_key_values(output), summary.read_text(), commands)


def options(**values: str) -> list[str]:
    """CLI options from keyword arguments: ``trust_config=...`` -> ``--trust-config ...``."""
    return [
        item for name, value in values.items() for item in (f"--{name.replace('_', '-')}", value)
    ]


def issue_leaf(ca: LocalCA, claims: dict[str, str], issuer: str) -> x509.Certificate:
    """A Fulcio-style leaf for a fresh key, as the CA issues it for a signer's CSR."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .sign(key, hashes.SHA256())
    )
    return ca.issue(csr, claims, issuer)


@dataclass(frozen=True)
class PushedImage:
    registry: str  # host:port
    repository: str
    digest: str

    @property
    def pinned(self) -> str:
        return f"{self.registry}/{self.repository}@{self.digest}"


def _request(
    method: str,
    url: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
) -> Any:
    all_headers = dict(headers or {})
    if auth is not None:  # htpasswd registries take basic credentials up front
        token = base64.b64encode(":".join(auth).encode()).decode()
        all_headers["Authorization"] = f"Basic {token}"
    request = urllib.request.Request(url, data=body or None, method=method, headers=all_headers)  # noqa: S310
    return urllib.request.urlopen(request, timeout=10)  # noqa: S310 (loopback test registry)


def push_blob(
    registry_url: str, repository: str, content: bytes, auth: tuple[str, str] | None = None
) -> str:
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    with _request("POST", f"{registry_url}/v2/{repository}/blobs/uploads/", auth=auth) as started:
        location = started.headers["Location"]
    if location.startswith("/"):
        location = registry_url + location
    separator = "&" if "?" in location else "?"
    _request(
        "PUT",
        f"{location}{separator}digest={digest}",
        content,
        {"Content-Type": "application/octet-stream"},
        auth,
    ).close()
    return digest


def push_image(
    registry_url: str, repository: str, marker: str, auth: tuple[str, str] | None = None
) -> str:
    """A config blob, one layer and an OCI manifest; returns the manifest digest."""
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": []},
            "config": {"Labels": {"marker": marker}},
        }
    ).encode()
    layer = f"layer for {marker}".encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": push_blob(registry_url, repository, config, auth),
            "size": len(config),
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": push_blob(registry_url, repository, layer, auth),
                "size": len(layer),
            }
        ],
    }
    body = json.dumps(manifest).encode()
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    _request(
        "PUT",
        f"{registry_url}/v2/{repository}/manifests/{digest}",
        body,
        {"Content-Type": OCI_MANIFEST},
        auth,
    ).close()
    return digest


def runner_environment(
    sigstore: LocalSigstore,
    *,
    repository: str = REPOSITORY,
    workflow: str = WORKFLOW,
    ref: str = REF,
    sha: str = SHA,
) -> dict[str, str]:
    """What a GitHub runner with ``id-token: write`` gives a step, pointed at the local issuer."""
    grant = sigstore.grant(
        github_claims(repository, workflow, ref, sha, run_id="4242", run_attempt="2")
    )
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": repository,
        "GITHUB_REPOSITORY_ID": "1",
        "GITHUB_REPOSITORY_OWNER_ID": "1",
        "GITHUB_WORKFLOW_REF": f"{repository}/{workflow}@{ref}",
        "GITHUB_SHA": sha,
        "GITHUB_REF": ref,
        "GITHUB_RUN_ID": "4242",
        "GITHUB_RUN_ATTEMPT": "2",
        "GITHUB_EVENT_NAME": "push",
        "RUNNER_ENVIRONMENT": "self-hosted",
        "ACTIONS_ID_TOKEN_REQUEST_URL": sigstore.token_request_url,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": grant,
    }


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return True  # AF_UNIX paths and the like never leave the machine
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class OffLoopbackError(AssertionError):
    """A test tried to reach a host other than this machine."""


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fails any name lookup or connection off loopback, and records every attempt."""
    attempts: list[str] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(address: object) -> None:
        host = address[0] if isinstance(address, tuple) else address
        attempts.append(str(host))
        if not _is_loopback(host):
            raise OffLoopbackError(f"connection off loopback attempted: {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        check(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        check((host,))
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts


@pytest.fixture(scope="session")
def local_sigstore(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSigstore]:
    with LocalSigstore(tmp_path_factory.mktemp("sigstore-local")) as running:
        yield running


@pytest.fixture(scope="session")
def other_sigstore(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSigstore]:
    """A second, unrelated instance: its trust root must not accept the first one's bundles."""
    with LocalSigstore(tmp_path_factory.mktemp("sigstore-other")) as running:
        yield running


@pytest.fixture(scope="session")
def trust_config_file(
    local_sigstore: LocalSigstore, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    return local_sigstore.write_trust_config(tmp_path_factory.mktemp("trust") / "trust-config.json")
