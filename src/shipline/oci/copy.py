"""Copying an image between repositories of one registry, and relabelling it, by digest only.

Blobs are mounted (no bytes travel) or, where the registry declines, downloaded and
uploaded; the manifest goes last and under its digest, so no tag is touched and an
interrupted copy leaves nothing a tag points at.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path

from shipline.oci.client import (
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    Descriptor,
    Manifest,
    RegistryClient,
    RegistryError,
    sha256_digest,
)


def image_blobs(manifest: Manifest) -> list[Descriptor]:
    """The config and layers of a single-platform image manifest."""
    if manifest.media_type in (OCI_INDEX, DOCKER_MANIFEST_LIST):
        raise RegistryError(
            f"{manifest.digest} is an image index; expected a single-platform image"
        )
    document = manifest.json()
    return [Descriptor.from_json(document["config"])] + [
        Descriptor.from_json(layer) for layer in document.get("layers") or []
    ]


def image_size(manifest: Manifest) -> int:
    """Bytes a pull transfers: the config and the compressed layers."""
    return sum(blob.size for blob in image_blobs(manifest))


def _existing_manifest(client: RegistryClient, repository: str, digest: str) -> Manifest:
    manifest = client.get_manifest(repository, digest)
    if manifest is None:
        raise RegistryError(f"{client.registry}/{repository}@{digest} does not exist")
    return manifest


def _put_by_digest(
    client: RegistryClient, repository: str, digest: str, content: bytes, media_type: str
) -> None:
    """PUT a manifest under its digest and make sure the registry agrees on that digest."""
    stored = client.put_manifest(repository, digest, content, media_type)
    if stored != digest:
        raise RegistryError(f"{client.registry} stored the manifest as {stored}, expected {digest}")


def copy_by_digest(client: RegistryClient, source: str, target: str, digest: str) -> Manifest:
    """Make ``target@digest`` hold the image ``source@digest`` holds; returns its manifest."""
    manifest = _existing_manifest(client, source, digest)
    for blob in image_blobs(manifest):
        if client.blob_exists(target, blob.digest) or client.mount_blob(
            target, blob.digest, source
        ):
            continue
        with tempfile.TemporaryDirectory(prefix="shipline-blob-") as scratch:
            path = Path(scratch) / "blob"
            path.write_bytes(client.get_blob(source, blob.digest))
            client.upload_blob(target, blob.digest, path)
    _put_by_digest(client, target, digest, manifest.content, manifest.media_type)
    return manifest


def with_labels(
    client: RegistryClient, repository: str, digest: str, labels: Mapping[str, str], note: str
) -> Manifest:
    """``repository@digest`` with ``labels`` added to its configuration, stored by digest.

    Only the configuration blob and the manifest are new (the layers are shared), and no
    tag is written. ``note`` becomes an empty-layer history entry saying who set the labels.
    Returns the new manifest; the original image is left as it was.
    """
    manifest = _existing_manifest(client, repository, digest)
    config_descriptor = image_blobs(manifest)[0]
    config = json.loads(client.get_blob(repository, config_descriptor.digest))
    settings = config.setdefault("config", {})
    settings["Labels"] = {**(settings.get("Labels") or {}), **labels}
    config.setdefault("history", []).append({"created_by": note, "empty_layer": True})
    config_bytes = json.dumps(config, separators=(",", ":")).encode()
    config_digest = sha256_digest(config_bytes)
    if not client.blob_exists(repository, config_digest):
        client.upload_blob(repository, config_digest, config_bytes)
    document = manifest.json()
    document["config"] = {**document["config"], "digest": config_digest, "size": len(config_bytes)}
    content = json.dumps(document, separators=(",", ":")).encode()
    labelled = sha256_digest(content)
    _put_by_digest(client, repository, labelled, content, manifest.media_type)
    return Manifest(labelled, manifest.media_type, content)
