"""The OCI client against the real docker-registry (through a fault-injecting proxy)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipline.oci import (
    OCI_INDEX,
    OCI_MANIFEST,
    Credentials,
    Referrers,
    RegistryAuthError,
    RegistryClient,
    RegistryError,
    RetryPolicy,
    referrers_tag,
    sha256_digest,
)
from shipline.oci.copy import copy_by_digest, image_size, with_labels
from tests.support.faultproxy import Fault, FaultProxy
from tests.support.registry import LocalRegistry

ARTIFACT = "application/vnd.dev.sigstore.bundle.v0.3+json"
EMPTY_CONFIG = b"{}"


def client_for(host: str, **options: object) -> RegistryClient:
    sleeps: list[float] = []
    client = RegistryClient(host, retry=RetryPolicy(attempts=3), sleep=sleeps.append, **options)  # type: ignore[arg-type]
    client.sleeps = sleeps  # type: ignore[attr-defined]
    return client


def push_image(client: RegistryClient, repository: str, payload: bytes, tmp_path: Path) -> str:
    layer = tmp_path / "layer.bin"
    layer.write_bytes(payload)
    layer_digest = sha256_digest(payload)
    client.upload_blob(repository, layer_digest, layer)
    client.upload_blob(repository, sha256_digest(EMPTY_CONFIG), EMPTY_CONFIG)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": sha256_digest(EMPTY_CONFIG),
                "size": 2,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer_digest,
                    "size": len(payload),
                }
            ],
        }
    ).encode()
    return client.put_manifest(repository, sha256_digest(manifest), manifest, OCI_MANIFEST)


@pytest.fixture
def proxy(registry: LocalRegistry) -> Iterator[FaultProxy]:
    with FaultProxy(registry.host) as running:
        yield running


def test_blobs_manifests_tags_round_trip_with_the_registry_digest(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    client = client_for(registry.host)
    client.ping()
    digest = push_image(client, "client/roundtrip", b"layer-bytes", tmp_path)
    assert client.manifest_digest("client/roundtrip", digest) == digest
    assert client.manifest_digest("client/roundtrip", "v1.0.0") is None
    manifest = client.get_manifest("client/roundtrip", digest)
    assert manifest is not None and manifest.media_type == OCI_MANIFEST
    assert (
        client.put_manifest("client/roundtrip", "v1.0.0", manifest.content, manifest.media_type)
        == digest
    )
    assert client.manifest_digest("client/roundtrip", "v1.0.0") == digest
    assert client.list_tags("client/roundtrip") == ["v1.0.0"]
    assert client.list_tags("client/absent") == []
    assert client.get_blob("client/roundtrip", sha256_digest(b"layer-bytes")) == b"layer-bytes"
    assert image_size(manifest) == 2 + len(b"layer-bytes")


def test_copy_by_digest_mounts_blobs_and_writes_no_tag(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    client = client_for(registry.host)
    digest = push_image(client, "client/staging", b"staged", tmp_path)
    copy_by_digest(client, "client/staging", "client/final", digest)
    assert client.manifest_digest("client/final", digest) == digest
    assert client.list_tags("client/final") == []


def test_with_labels_stores_a_relabelled_image_by_digest_and_leaves_the_original(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    client = client_for(registry.host)
    original = push_image(client, "client/labels", b"layer", tmp_path)
    labels = {"org.opencontainers.image.revision": "a" * 40, "note": 'quotes " and $HOME'}
    labelled = with_labels(client, "client/labels", original, labels, "LABEL by test")
    assert labelled.digest != original
    assert client.manifest_digest("client/labels", labelled.digest) == labelled.digest
    assert client.list_tags("client/labels") == []
    before, after = client.get_manifest("client/labels", original), labelled.json()
    assert before is not None and after["layers"] == before.json()["layers"]
    config = json.loads(client.get_blob("client/labels", after["config"]["digest"]))
    assert config["config"]["Labels"] == labels
    assert config["history"][-1] == {"created_by": "LABEL by test", "empty_layer": True}
    assert client.get_blob("client/labels", before.json()["config"]["digest"]) == EMPTY_CONFIG


def test_referrers_fall_back_to_the_digest_tag_where_the_api_is_missing(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    client = client_for(registry.host)
    subject = push_image(client, "client/signed", b"subject", tmp_path)
    assert client.referrers("client/signed", subject) == Referrers((), via_api=False)
    referrer = push_image(client, "client/signed", b"a signature", tmp_path)
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": referrer,
                    "size": 10,
                    "artifactType": ARTIFACT,
                }
            ],
        }
    ).encode()
    client.put_manifest("client/signed", referrers_tag(subject), index, OCI_INDEX)
    found = client.referrers("client/signed", subject)
    assert not found.via_api and [d.digest for d in found.descriptors] == [referrer]
    assert (
        client.referrers("client/signed", subject, artifact_type="application/other").descriptors
        == ()
    )


def test_server_errors_and_dropped_connections_are_retried_with_backoff(
    proxy: FaultProxy, tmp_path: Path
) -> None:
    proxy.faults += [
        Fault("PUT", "/manifests/", "503", times=2),
        Fault("POST", "/blobs/uploads/", "drop"),
    ]
    client = client_for(proxy.host)
    digest = push_image(client, "client/flaky", b"flaky", tmp_path)
    assert client.manifest_digest("client/flaky", digest) == digest
    assert [s for m, p, s in proxy.seen if m == "PUT" and "/manifests/" in p] == [503, 503, 201]
    assert len(client.sleeps) == 3  # type: ignore[attr-defined]


def test_persistent_server_errors_give_up_after_the_bounded_attempts(proxy: FaultProxy) -> None:
    proxy.faults.append(Fault("GET", "/tags/list", "503", times=10))
    client = client_for(proxy.host)
    with pytest.raises(RegistryError, match="after 3 attempts"):
        client.list_tags("client/down")
    assert len([1 for m, p, _ in proxy.seen if "/tags/list" in p]) == 3


def test_missing_things_are_not_retried(proxy: FaultProxy) -> None:
    client = client_for(proxy.host)
    assert client.get_manifest("client/none", "v9.9.9") is None
    assert len(proxy.seen) == 1 and client.sleeps == []  # type: ignore[attr-defined]


def test_wrong_credentials_fail_at_once_and_never_show_the_password(
    auth_registry: LocalRegistry,
) -> None:
    with FaultProxy(auth_registry.host) as proxy:
        client = client_for(proxy.host, credentials=Credentials("shipline", "wrong-secret"))
        with pytest.raises(RegistryAuthError) as refused:
            client.ping()
        assert "refused the credentials of user 'shipline'" in str(refused.value)
        assert "wrong-secret" not in str(refused.value)
        assert [s for _, _, s in proxy.seen] == [
            401,
            401,
        ]  # the challenge, then one try with credentials
        good = client_for(proxy.host, credentials=Credentials("shipline", "s3cret-pass"))
        good.ping()
        assert good.list_tags("client/private") == []
