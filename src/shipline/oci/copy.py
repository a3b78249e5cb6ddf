"""Copying an image between repositories of one registry, by digest only.

Blobs are mounted (no bytes travel) or, where the registry declines, downloaded and
uploaded; the manifest goes last and under its digest, so no tag is touched and an
interrupted copy leaves nothing a tag points at.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from shipline.oci.client import (
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    Descriptor,
    Manifest,
    RegistryClient,
    RegistryError,
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


def copy_by_digest(client: RegistryClient, source: str, target: str, digest: str) -> Manifest:
    """Make ``target@digest`` hold the image ``source@digest`` holds; returns its manifest."""
    manifest = client.get_manifest(source, digest)
    if manifest is None:
        raise RegistryError(f"{client.registry}/{source}@{digest} does not exist")
    for blob in image_blobs(manifest):
        if client.blob_exists(target, blob.digest) or client.mount_blob(
            target, blob.digest, source
        ):
            continue
        with tempfile.TemporaryDirectory(prefix="shipline-blob-") as scratch:
            path = Path(scratch) / "blob"
            path.write_bytes(client.get_blob(source, blob.digest))
            client.upload_blob(target, blob.digest, path)
    stored = client.put_manifest(target, digest, manifest.content, manifest.media_type)
    if stored != digest:
        raise RegistryError(f"{client.registry} stored the manifest as {stored}, expected {digest}")
    return manifest
