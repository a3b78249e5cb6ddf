"""Attaching an artifact to an image as an OCI referrer (image-spec 1.1 ``subject``).

The artifact manifest is pushed by digest. A registry with the referrers API indexes it on
its own; for one without (distribution 2.8, for one) the ``sha256-<hex>`` tag schema is
kept up to date by hand: the index under that tag gains a descriptor of the new manifest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from shipline.oci.client import (
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    RegistryClient,
    referrers_tag,
    sha256_digest,
)

EMPTY_CONFIG_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_CONFIG = b"{}"
REFERRERS_API = "referrers-api"
TAG_FALLBACK = "tag-fallback"


@dataclass(frozen=True)
class AttachedReferrer:
    digest: str  # of the referrer manifest
    method: str  # REFERRERS_API or TAG_FALLBACK


def descriptor_json(descriptor: Descriptor) -> dict[str, object]:
    data: dict[str, object] = {
        "mediaType": descriptor.media_type,
        "digest": descriptor.digest,
        "size": descriptor.size,
    }
    if descriptor.artifact_type:
        data["artifactType"] = descriptor.artifact_type
    if descriptor.annotations:
        data["annotations"] = dict(descriptor.annotations)
    return data


def referrer_manifest(
    subject: Descriptor,
    artifact: bytes,
    artifact_type: str,
    annotations: Mapping[str, str],
) -> bytes:
    """An image-spec 1.1 artifact manifest: empty config, the artifact as its one layer."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {
            "mediaType": EMPTY_CONFIG_TYPE,
            "digest": sha256_digest(EMPTY_CONFIG),
            "size": len(EMPTY_CONFIG),
        },
        "layers": [
            {"mediaType": artifact_type, "digest": sha256_digest(artifact), "size": len(artifact)}
        ],
        "subject": {
            "mediaType": subject.media_type,
            "digest": subject.digest,
            "size": subject.size,
        },
        "annotations": dict(annotations),
    }
    return json.dumps(manifest, separators=(",", ":")).encode()


def attach(
    client: RegistryClient,
    repository: str,
    subject: Descriptor,
    artifact: bytes,
    artifact_type: str,
    annotations: Mapping[str, str],
) -> AttachedReferrer:
    for blob in (EMPTY_CONFIG, artifact):
        digest = sha256_digest(blob)
        if not client.blob_exists(repository, digest):
            client.upload_blob(repository, digest, blob)
    manifest = referrer_manifest(subject, artifact, artifact_type, annotations)
    manifest_digest = client.put_manifest(
        repository, sha256_digest(manifest), manifest, OCI_MANIFEST
    )
    if client.referrers(repository, subject.digest).via_api:
        return AttachedReferrer(manifest_digest, REFERRERS_API)
    entry = Descriptor(OCI_MANIFEST, manifest_digest, len(manifest), artifact_type, annotations)
    update_fallback_index(client, repository, subject.digest, entry)
    return AttachedReferrer(manifest_digest, TAG_FALLBACK)


def update_fallback_index(
    client: RegistryClient, repository: str, subject_digest: str, entry: Descriptor
) -> None:
    """Add ``entry`` to the index under the ``sha256-<hex>`` tag (created when absent)."""
    tag = referrers_tag(subject_digest)
    current = client.get_manifest(repository, tag)
    index: dict[str, object] = (
        current.json() if current else {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
    )
    listed = index.get("manifests")
    manifests = list(listed) if isinstance(listed, list) else []
    if any(isinstance(m, dict) and m.get("digest") == entry.digest for m in manifests):
        return
    index["manifests"] = [*manifests, descriptor_json(entry)]
    client.put_manifest(
        repository, tag, json.dumps(index, separators=(",", ":")).encode(), OCI_INDEX
    )
