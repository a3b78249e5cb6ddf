"""Copying an image from an OCI image layout directory to a registry, by digest only.

Blobs go first (those the registry already has are skipped), then the manifest under its
own digest: no tag is touched, so an interrupted copy leaves nothing a tag points at.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipline.oci.client import (
    OCI_INDEX,
    Descriptor,
    Manifest,
    RegistryClient,
    RegistryError,
    sha256_digest,
)


class LayoutError(ValueError):
    """A directory that is not a readable OCI image layout with one image."""


@dataclass(frozen=True)
class LayoutImage:
    manifest: Manifest
    config: Descriptor
    layers: tuple[Descriptor, ...]

    @property
    def size(self) -> int:
        """Bytes a pull transfers: the config and the compressed layers."""
        return self.config.size + sum(layer.size for layer in self.layers)


def _blob_path(layout: Path, digest: str) -> Path:
    algorithm, _, hex_part = digest.partition(":")
    return layout / "blobs" / algorithm / hex_part


def read_layout(layout: Path) -> LayoutImage:
    try:
        index = json.loads((layout / "index.json").read_text(encoding="utf-8"))
        entries = index.get("manifests") or []
        if len(entries) != 1:
            raise LayoutError(
                f"{layout} holds {len(entries)} manifests; expected exactly one image"
            )
        descriptor = Descriptor.from_json(entries[0])
        content = _blob_path(layout, descriptor.digest).read_bytes()
    except (OSError, ValueError, KeyError) as error:
        if isinstance(error, LayoutError):
            raise
        raise LayoutError(f"{layout} is not a readable OCI image layout: {error}") from None
    if sha256_digest(content) != descriptor.digest:
        raise LayoutError(f"{layout}: manifest {descriptor.digest} does not match its content")
    document: Any = json.loads(content)
    media_type = descriptor.media_type or document.get("mediaType", "")
    if media_type == OCI_INDEX:
        raise LayoutError(f"{layout} holds an image index; expected a single-platform image")
    return LayoutImage(
        Manifest(descriptor.digest, media_type, content),
        Descriptor.from_json(document["config"]),
        tuple(Descriptor.from_json(layer) for layer in document.get("layers") or []),
    )


def push_layout(client: RegistryClient, layout: Path, repository: str) -> LayoutImage:
    """Upload the layout's image to ``repository`` by digest; returns it as pushed."""
    image = read_layout(layout)
    for blob in (image.config, *image.layers):
        if client.blob_exists(repository, blob.digest):
            continue
        path = _blob_path(layout, blob.digest)
        if not path.is_file():
            raise LayoutError(f"{layout} lacks blob {blob.digest}")
        client.upload_blob(repository, blob.digest, path)
    digest = client.put_manifest(
        repository, image.manifest.digest, image.manifest.content, image.manifest.media_type
    )
    if digest != image.manifest.digest:
        raise RegistryError(
            f"{client.registry} stored the manifest as {digest}, expected {image.manifest.digest}"
        )
    return image
