"""A Rekor v1-compatible transparency log: dsse and hashedrekord entries in an RFC 6962 tree.

Each integrated entry comes back as Rekor v1 answers it: the canonicalized body, an
inclusion proof against a signed checkpoint (a signed note whose signature line carries the
key hint ``logId[:4]``) and a signed entry timestamp (SET) over the RFC 8785 JSON of body,
integrated time, log ID and index. Entries persist as JSON lines in the state directory.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from shipline.sigstore_local import merkle
from shipline.sigstore_local.encoding import b64, canonical_json
from shipline.sigstore_local.keys import log_id

ORIGIN_NAME = "shipline-local-rekor-UNTRUSTED"


class EntryRejectedError(Exception):
    """The proposed entry is malformed or its signature does not verify."""


def _certificate(encoded_pem: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(base64.b64decode(encoded_pem))
    except ValueError as error:
        raise EntryRejectedError(f"verifier is not a base64 PEM certificate: {error}") from None


def _ec_key(certificate: x509.Certificate) -> ec.EllipticCurvePublicKey:
    key = certificate.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise EntryRejectedError("only EC signing keys are supported")
    return key


def _pae(payload_type: str, payload: bytes) -> bytes:
    return b"DSSEv1 %d %s %d %s" % (
        len(payload_type),
        payload_type.encode(),
        len(payload),
        payload,
    )


def canonical_body(proposed: dict[str, Any]) -> bytes:
    """What Rekor stores for a proposed entry, after checking its signature."""
    kind, spec = proposed.get("kind"), proposed.get("spec")
    if proposed.get("apiVersion") != "0.0.1" or not isinstance(spec, dict):
        raise EntryRejectedError("expected apiVersion 0.0.1 with a spec object")
    try:
        if kind == "dsse":
            return _dsse_body(spec)
        if kind == "hashedrekord":
            return _hashedrekord_body(spec)
    except (KeyError, TypeError, ValueError) as error:
        raise EntryRejectedError(f"malformed {kind} entry: {error}") from None
    raise EntryRejectedError(f"unsupported entry kind {kind!r}: expected dsse or hashedrekord")


def _dsse_body(spec: dict[str, Any]) -> bytes:
    proposed = spec["proposedContent"]
    envelope_text: str = proposed["envelope"]
    envelope = json.loads(envelope_text)
    payload = base64.b64decode(envelope["payload"])
    payload_type: str = envelope["payloadType"]
    verifiers = [_certificate(v) for v in proposed["verifiers"]]
    signatures = []
    for entry in envelope["signatures"]:
        signature = base64.b64decode(entry["sig"])
        for encoded, certificate in zip(proposed["verifiers"], verifiers, strict=True):
            try:
                _ec_key(certificate).verify(
                    signature, _pae(payload_type, payload), ec.ECDSA(hashes.SHA256())
                )
            except InvalidSignature:
                continue
            signatures.append({"signature": b64(signature), "verifier": encoded})
            break
        else:
            raise EntryRejectedError("a DSSE signature verifies with none of the verifiers")
    body = {
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "envelopeHash": {
                "algorithm": "sha256",
                "value": hashlib.sha256(canonical_json(envelope)).hexdigest(),
            },
            "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
            "signatures": sorted(signatures, key=lambda s: s["signature"]),
        },
    }
    return canonical_json(body)


def _hashedrekord_body(spec: dict[str, Any]) -> bytes:
    digest_hex: str = spec["data"]["hash"]["value"]
    if spec["data"]["hash"]["algorithm"] != "sha256":
        raise EntryRejectedError("only sha256 hashedrekord entries are supported")
    signature = base64.b64decode(spec["signature"]["content"])
    encoded_certificate: str = spec["signature"]["publicKey"]["content"]
    try:
        _ec_key(_certificate(encoded_certificate)).verify(
            signature, bytes.fromhex(digest_hex), ec.ECDSA(Prehashed(hashes.SHA256()))
        )
    except InvalidSignature:
        raise EntryRejectedError("the signature does not verify for the hash") from None
    body = {
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": digest_hex}},
            "signature": {
                "content": b64(signature),
                "publicKey": {"content": encoded_certificate},
            },
        },
    }
    return canonical_json(body)


@dataclass
class LoggedEntry:
    body: bytes
    integrated_time: int


class TransparencyLog:
    def __init__(self, state: Path, key: ec.EllipticCurvePrivateKey) -> None:
        self.key = key
        self.log_id = log_id(key)
        self.tree_id = int.from_bytes(self.log_id[:7], "big")
        self.origin = f"{ORIGIN_NAME} - {self.tree_id}"
        self._path = state / "rekor-entries.jsonl"
        self._lock = threading.RLock()  # add() answers with response() under the same lock
        self._entries: list[LoggedEntry] = []
        self._leaves: list[bytes] = []
        if self._path.exists():
            for line in self._path.read_text().splitlines():
                record = json.loads(line)
                self._append(LoggedEntry(base64.b64decode(record["body"]), record["time"]))

    def _append(self, entry: LoggedEntry) -> int:
        self._entries.append(entry)
        self._leaves.append(merkle.leaf_hash(entry.body))
        return len(self._entries) - 1

    @property
    def size(self) -> int:
        return len(self._entries)

    def add(self, proposed: dict[str, Any]) -> dict[str, Any]:
        """Integrates a proposed entry; the Rekor v1 response ``{uuid: entry}``."""
        body = canonical_body(proposed)
        with self._lock:
            entry = LoggedEntry(body, int(time.time()))
            index = self._append(entry)
            with self._path.open("a") as handle:
                handle.write(json.dumps({"body": b64(body), "time": entry.integrated_time}) + "\n")
            return self.response(index)

    def response(self, index: int) -> dict[str, Any]:
        with self._lock:
            entry = self._entries[index]
            leaves = list(self._leaves)
        size = len(leaves)
        root = merkle.root_hash(leaves)
        proof = merkle.inclusion_proof(index, leaves)
        promise = canonical_json(
            {
                "body": b64(entry.body),
                "integratedTime": entry.integrated_time,
                "logID": self.log_id.hex(),
                "logIndex": index,
            }
        )
        uuid = leaves[index].hex()
        return {
            uuid: {
                "body": b64(entry.body),
                "integratedTime": entry.integrated_time,
                "logID": self.log_id.hex(),
                "logIndex": index,
                "verification": {
                    "inclusionProof": {
                        "checkpoint": self.checkpoint(size, root),
                        "hashes": [h.hex() for h in proof],
                        "logIndex": index,
                        "rootHash": root.hex(),
                        "treeSize": size,
                    },
                    "signedEntryTimestamp": b64(self.key.sign(promise, ec.ECDSA(hashes.SHA256()))),
                },
            }
        }

    def checkpoint(self, size: int, root: bytes) -> str:
        """A signed note: origin, size, base64 root, blank line, ``— name base64(hint+sig)``."""
        note = f"{self.origin}\n{size}\n{b64(root)}\n"
        signature = self.key.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
        return f"{note}\n\u2014 {ORIGIN_NAME} {b64(self.log_id[:4] + signature)}\n"

    def log_info(self) -> dict[str, Any]:
        with self._lock:
            size = len(self._leaves)
            root = merkle.root_hash(self._leaves)
        return {
            "rootHash": root.hex(),
            "treeSize": size,
            "signedTreeHead": self.checkpoint(size, root),
            "treeID": str(self.tree_id),
        }
