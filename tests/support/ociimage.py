"""A tiny OCI image layout written by hand: enough for ``trivy image --input``.

One gzip layer holds Python ``*.dist-info/METADATA`` files (trivy's python-pkg analyzer
reads them as installed packages); the configuration carries the user the image runs as.
The result is deterministic, so trivy's layer cache hits across runs.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

SITE_PACKAGES = "usr/local/lib/python3.12/site-packages"


def _blob(layout: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    path = layout / "blobs" / "sha256" / digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return f"sha256:{digest}"


def _layer(packages: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, version in sorted(packages.items()):
            metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: test package\n".encode()
            info = tarfile.TarInfo(f"{SITE_PACKAGES}/{name}-{version}.dist-info/METADATA")
            info.size, info.mtime, info.mode = len(metadata), 0, 0o644
            archive.addfile(info, io.BytesIO(metadata))
    return buffer.getvalue()


def write_oci_layout(
    layout: Path, packages: dict[str, str], *, user: str = "", tag: str = "latest"
) -> Path:
    """Writes an OCI image layout directory at ``layout``; returns it."""
    layout.mkdir(parents=True, exist_ok=True)
    tar = _layer(packages)
    compressed = gzip.compress(tar, mtime=0)
    layer_digest = _blob(layout, compressed)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2026-01-01T00:00:00Z",
        "config": {
            "User": user,
            "Cmd": ["python3", "-m", "app"],
            "Env": ["PATH=/usr/local/bin:/usr/bin:/bin"],
        },
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{hashlib.sha256(tar).hexdigest()}"]},
        "history": [
            {
                "created": "2026-01-01T00:00:00Z",
                "created_by": "shipline tests: site-packages metadata",
            }
        ],
    }
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_digest = _blob(layout, config_bytes)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": len(config_bytes),
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": layer_digest,
                "size": len(compressed),
            }
        ],
    }
    manifest_bytes = json.dumps(manifest, sort_keys=True).encode()
    manifest_digest = _blob(layout, manifest_bytes)
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest,
                "size": len(manifest_bytes),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (layout / "index.json").write_text(json.dumps(index))
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    return layout
