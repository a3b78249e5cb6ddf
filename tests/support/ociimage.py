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
import urllib.parse
import urllib.request
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


def write_docker_archive(layout: Path, archive: Path, reference: str) -> Path:
    """The layout's image as ``docker save`` writes it (manifest.json, config, layer tars)."""
    descriptor = json.loads((layout / "index.json").read_text())["manifests"][0]
    manifest = json.loads(_read_blob(layout, descriptor["digest"]))
    config_name = manifest["config"]["digest"].removeprefix("sha256:") + ".json"
    members = {config_name: _read_blob(layout, manifest["config"]["digest"])}
    layers = []
    for layer in manifest["layers"]:
        tar = gzip.decompress(_read_blob(layout, layer["digest"]))
        name = f"{hashlib.sha256(tar).hexdigest()}/layer.tar"
        members[name] = tar
        layers.append(name)
    members["manifest.json"] = json.dumps(
        [{"Config": config_name, "RepoTags": [reference], "Layers": layers}]
    ).encode()
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w") as saved:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            saved.addfile(info, io.BytesIO(data))
    return archive


def push_oci_layout(layout: Path, registry_url: str, repository: str, tag: str) -> str:
    """Pushes the layout's one image to a plain-HTTP registry (the distribution API, monolithic
    blob uploads); returns the manifest digest."""
    descriptor = json.loads((layout / "index.json").read_text())["manifests"][0]
    manifest_bytes = _read_blob(layout, descriptor["digest"])
    manifest = json.loads(manifest_bytes)
    for blob in [manifest["config"], *manifest["layers"]]:
        started = _send("POST", f"{registry_url}/v2/{repository}/blobs/uploads/")
        location = urllib.parse.urljoin(registry_url, started["Location"])
        separator = "&" if "?" in location else "?"
        _send(
            "PUT",
            f"{location}{separator}digest={blob['digest']}",
            _read_blob(layout, blob["digest"]),
            "application/octet-stream",
        )
    _send(
        "PUT",
        f"{registry_url}/v2/{repository}/manifests/{tag}",
        manifest_bytes,
        manifest["mediaType"],
    )
    return str(descriptor["digest"])


def _send(
    method: str, url: str, data: bytes | None = None, content_type: str | None = None
) -> dict[str, str]:
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"refusing to contact {url}: tests push to the loopback registry only")
    headers = {"Content-Type": content_type} if content_type else {}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback http only, checked above
        return dict(response.headers)


def _read_blob(layout: Path, digest: str) -> bytes:
    return (layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()
