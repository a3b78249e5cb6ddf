"""A tiny but real trivy vulnerability database (bbolt, schema v2) for offline tests.

trivy reads ``<cache-dir>/db/trivy.db`` and ``<cache-dir>/db/metadata.json``. The file is
written with the PyPI ``boltdb`` package, which leaves the meta pages' checksums at zero;
bbolt refuses such a file, so both are recomputed afterwards (FNV-1a 64 over the first 56
bytes of the meta structure, stored right after them).

The database holds the advisories below and nothing else, so a scan finds exactly these.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from boltdb import BoltDB  # type: ignore[import-untyped]

SCHEMA_VERSION = 2
PAGE_HEADER_SIZE = 16  # id u64, flags u16, count u16, overflow u32
META_CHECKSUMMED_SIZE = 56  # magic .. txid; the u64 checksum follows

PIP_SOURCE = "pip::GitHub Security Advisory pip"


@dataclass(frozen=True)
class Advisory:
    vulnerability_id: str
    package: str
    vulnerable: str  # a version constraint, e.g. "<5.4"
    fixed: str
    severity: str
    title: str
    bucket: str = PIP_SOURCE
    source_id: str = "ghsa"


# Real advisories (ids, ranges and fixes as published) for packages the vulnerable sample
# pins; the image fixture installs the same versions as site-packages metadata.
ADVISORIES = (
    Advisory(
        "CVE-2020-14343",
        "pyyaml",
        "<5.4",
        "5.4",
        "CRITICAL",
        "PyYAML: incomplete fix for CVE-2020-1747 allows arbitrary code execution",
    ),
    Advisory(
        "CVE-2018-18074",
        "requests",
        "<=2.19.1",
        "2.20.0",
        "HIGH",
        "requests: Authorization header sent on redirect from HTTPS to HTTP",
    ),
    Advisory(
        "CVE-2023-32681",
        "requests",
        ">=2.3.0, <2.31.0",
        "2.31.0",
        "MEDIUM",
        "requests: Unintended leak of Proxy-Authorization header",
    ),
    Advisory(
        "CVE-2024-24762",
        "fastapi",
        "<0.109.1",
        "0.109.1",
        "HIGH",
        "fastapi: ReDoS when parsing a form Content-Type (the sample pins a fixed release)",
    ),
)

_LEVEL = {"UNKNOWN": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3, "CRITICAL": 4}


def fnv1a_64(data: bytes) -> int:
    value = 0xCBF29CE484222325
    for byte in data:
        value ^= byte
        value = (value * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value


def fix_meta_checksums(db_file: Path) -> None:
    """Write the checksum bbolt verifies on open into both meta pages."""
    data = bytearray(db_file.read_bytes())
    page_size = struct.unpack_from("<I", data, PAGE_HEADER_SIZE + 8)[0]
    for page in (0, 1):
        start = page * page_size + PAGE_HEADER_SIZE
        checksum = fnv1a_64(bytes(data[start : start + META_CHECKSUMMED_SIZE]))
        struct.pack_into("<Q", data, start + META_CHECKSUMMED_SIZE, checksum)
    db_file.write_bytes(bytes(data))


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def write_trivy_db(cache_dir: Path, advisories: tuple[Advisory, ...] = ADVISORIES) -> Path:
    """Writes ``cache_dir/db/{trivy.db,metadata.json}``; returns the db directory."""
    db_dir = cache_dir / "db"
    shutil.rmtree(db_dir, ignore_errors=True)
    db_dir.mkdir(parents=True)
    db_file = db_dir / "trivy.db"
    database = BoltDB(str(db_file))
    with database.update() as tx:
        sources = tx.create_bucket(b"data-source")
        vulnerabilities = tx.create_bucket(b"vulnerability")
        ecosystems: dict[str, object] = {}
        for advisory in advisories:
            if advisory.bucket not in ecosystems:
                ecosystems[advisory.bucket] = tx.create_bucket(advisory.bucket.encode())
                sources.put(
                    advisory.bucket.encode(),
                    _json(
                        {
                            "ID": advisory.source_id,
                            "Name": advisory.bucket.split("::")[-1],
                            "URL": "https://github.com/advisories",
                        }
                    ),
                )
            ecosystem = ecosystems[advisory.bucket]
            package = ecosystem.bucket(advisory.package.encode()) or ecosystem.create_bucket(
                advisory.package.encode()
            )  # type: ignore[attr-defined]
            package.put(
                advisory.vulnerability_id.encode(),
                _json(
                    {
                        "PatchedVersions": [advisory.fixed],
                        "VulnerableVersions": [advisory.vulnerable],
                    }
                ),
            )
            vulnerabilities.put(
                advisory.vulnerability_id.encode(),
                _json(
                    {
                        "Title": advisory.title,
                        "Description": advisory.title,
                        "Severity": advisory.severity,
                        "VendorSeverity": {advisory.source_id: _LEVEL[advisory.severity]},
                        "References": [
                            f"https://nvd.nist.gov/vuln/detail/{advisory.vulnerability_id}"
                        ],
                    }
                ),
            )
    # BoltDB closes itself when collected; an explicit close() would be repeated there and fail.
    del database
    fix_meta_checksums(db_file)
    now = datetime.now(UTC).replace(microsecond=0)
    stamp = now.isoformat().replace("+00:00", "Z")
    (db_dir / "metadata.json").write_text(
        json.dumps(
            {
                "Version": SCHEMA_VERSION,
                "NextUpdate": "2099-01-01T00:00:00Z",
                "UpdatedAt": stamp,
                "DownloadedAt": stamp,
            }
        )
    )
    return db_dir


def cached_trivy_db(root: Path, advisories: tuple[Advisory, ...] = ADVISORIES) -> Path:
    """A trivy cache directory under ``root`` holding the DB for ``advisories``, built once.

    Built beside its final place and renamed into it, so parallel test sessions never see
    a half-written database.
    """
    key = hashlib.sha256(repr((SCHEMA_VERSION, advisories)).encode()).hexdigest()[:12]
    cache_dir = root / f"trivy-{key}"
    if (cache_dir / "db" / "trivy.db").is_file():
        return cache_dir
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".trivy-{key}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    write_trivy_db(staging, advisories)
    try:
        staging.rename(cache_dir)
    except OSError:  # another session got there first
        shutil.rmtree(staging, ignore_errors=True)
    return cache_dir
