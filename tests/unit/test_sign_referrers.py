"""Attaching bundles as OCI referrers: what is sent to a registry that has the referrers API
(the fallback path runs for real against distribution 2.8 in the integration tests)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from shipline.oci.client import OCI_INDEX, OCI_MANIFEST, Descriptor, RegistryClient
from shipline.oci.reference import ImageReference
from shipline.oci.referrers import (
    REFERRERS_API,
    TAG_FALLBACK,
    attach,
    referrer_manifest,
)
from shipline.sign.action import Target, fetch_bundles

BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
SUBJECT = Descriptor(OCI_MANIFEST, "sha256:" + "5" * 64, 321)


def sha(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()


@dataclass
class StubRegistry:
    """Records requests; answers like a registry with (or without) the referrers API."""

    referrers_api: bool
    requests: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)
    manifests: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)


def _handler(stub: StubRegistry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _record(self) -> bytes:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            stub.requests.append((self.command, self.path, dict(self.headers), body))
            return body

        def _answer(
            self, status: int, body: bytes = b"", headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self) -> None:
            self._record()
            digest = self.path.rsplit("/", 1)[-1]
            self._answer(200 if digest in stub.blobs else 404)

        def do_GET(self) -> None:
            self._record()
            if "/referrers/" in self.path:
                if not stub.referrers_api:
                    self._answer(404)
                    return
                wanted = parse_qs(urlsplit(self.path).query).get("artifactType", [None])[0]
                listed = [
                    {
                        "mediaType": OCI_MANIFEST,
                        "digest": sha(body),
                        "size": len(body),
                        "artifactType": json.loads(body).get("artifactType"),
                    }
                    for media, body in stub.manifests.values()
                    if media == OCI_MANIFEST and json.loads(body).get("subject")
                ]
                listed = [d for d in listed if wanted in (None, d["artifactType"])]
                index = json.dumps(
                    {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": listed}
                ).encode()
                self._answer(200, index, {"Content-Type": OCI_INDEX})
                return
            reference = self.path.rsplit("/", 1)[-1]
            if "/blobs/" in self.path and reference in stub.blobs:
                self._answer(200, stub.blobs[reference])
            elif reference in stub.manifests:
                media, body = stub.manifests[reference]
                self._answer(200, body, {"Content-Type": media, "Docker-Content-Digest": sha(body)})
            else:
                self._answer(404)

        def do_POST(self) -> None:
            self._record()
            self._answer(202, headers={"Location": "/v2/acme/shop/blobs/uploads/u1?state=x"})

        def do_PUT(self) -> None:
            body = self._record()
            if "/blobs/uploads/" in self.path:
                stub.blobs[self.path.split("digest=")[-1].replace("%3A", ":")] = body
                self._answer(201)
                return
            reference = self.path.rsplit("/", 1)[-1]
            stub.manifests[reference] = (self.headers["Content-Type"], body)
            headers = {"Docker-Content-Digest": sha(body)}
            if stub.referrers_api and json.loads(body).get("subject"):
                headers["OCI-Subject"] = json.loads(body)["subject"]["digest"]
            self._answer(201, headers=headers)

    return Handler


@pytest.fixture(params=[True, False], ids=["referrers-api", "no-referrers-api"])
def stub(request: pytest.FixtureRequest) -> Iterator[tuple[StubRegistry, RegistryClient]]:
    registry = StubRegistry(referrers_api=request.param)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(registry))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield registry, RegistryClient(f"127.0.0.1:{server.server_address[1]}")
    server.shutdown()
    server.server_close()


def test_the_referrer_manifest_is_an_image_spec_1_1_artifact() -> None:
    manifest = json.loads(referrer_manifest(SUBJECT, b'{"bundle": 1}', BUNDLE, {"k": "v"}))
    assert manifest == {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": BUNDLE,
        "config": {
            "mediaType": "application/vnd.oci.empty.v1+json",
            "digest": sha(b"{}"),
            "size": 2,
        },
        "layers": [{"mediaType": BUNDLE, "digest": sha(b'{"bundle": 1}'), "size": 13}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": SUBJECT.digest, "size": 321},
        "annotations": {"k": "v"},
    }


def test_attach_pushes_blobs_then_the_manifest_by_digest(
    stub: tuple[StubRegistry, RegistryClient],
) -> None:
    registry, client = stub
    artifact = b'{"mediaType": "bundle"}'
    attached = attach(
        client,
        "acme/shop",
        SUBJECT,
        artifact,
        BUNDLE,
        {"dev.sigstore.bundle.content": "dsse-envelope"},
    )
    puts = [
        (path, headers.get("Content-Type"), body)
        for method, path, headers, body in registry.requests
        if method == "PUT"
    ]
    blob_puts = [p for p in puts if "/blobs/uploads/" in p[0]]
    assert [p[2] for p in blob_puts] == [b"{}", artifact]
    manifest_path, media_type, body = puts[len(blob_puts)]
    assert manifest_path == f"/v2/acme/shop/manifests/{sha(body)}"
    assert media_type == OCI_MANIFEST
    assert json.loads(body)["subject"]["digest"] == SUBJECT.digest
    assert attached.digest == sha(body)
    tag_puts = [p for p in puts if p[0].endswith("/manifests/sha256-" + "5" * 64)]
    if registry.referrers_api:
        # The registry indexes the subject itself: no fallback tag may be written.
        assert attached.method == REFERRERS_API
        assert tag_puts == []
        assert any(
            m == "GET" and p.startswith(f"/v2/acme/shop/referrers/{SUBJECT.digest}")
            for m, p, _, _ in registry.requests
        )
    else:
        assert attached.method == TAG_FALLBACK
        [(_, index_type, index_body)] = tag_puts
        assert index_type == OCI_INDEX
        assert [m["digest"] for m in json.loads(index_body)["manifests"]] == [attached.digest]
        assert json.loads(index_body)["manifests"][0]["artifactType"] == BUNDLE


def test_attaching_twice_lists_each_referrer_once(
    stub: tuple[StubRegistry, RegistryClient],
) -> None:
    registry, client = stub
    first = attach(client, "acme/shop", SUBJECT, b"one", BUNDLE, {})
    attach(client, "acme/shop", SUBJECT, b"one", BUNDLE, {})
    second = attach(client, "acme/shop", SUBJECT, b"two", BUNDLE, {})
    listed = client.referrers("acme/shop", SUBJECT.digest, BUNDLE)
    assert [d.digest for d in listed.descriptors] == [first.digest, second.digest]
    assert listed.via_api is registry.referrers_api


def test_verify_mode_reads_back_every_attached_bundle(
    stub: tuple[StubRegistry, RegistryClient],
) -> None:
    _, client = stub
    for text in (b'{"bundle": "signature"}', b'{"bundle": "provenance"}'):
        attach(client, "acme/shop", SUBJECT, text, BUNDLE, {})
    attach(client, "acme/shop", SUBJECT, b"not a bundle", "application/vnd.example+json", {})
    target = Target(ImageReference(client.registry, "acme/shop"), SUBJECT.digest)
    assert sorted(source.text for source in fetch_bundles(client, target)) == [
        '{"bundle": "provenance"}',
        '{"bundle": "signature"}',
    ]
