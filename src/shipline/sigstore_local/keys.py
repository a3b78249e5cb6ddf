"""The instance's signing keys, kept in its state directory so restarts keep one trust root."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def load_or_create_key(path: Path) -> ec.EllipticCurvePrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{path} does not hold an EC private key")
        return key
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    return key


def spki_der(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> bytes:
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def log_id(key: ec.EllipticCurvePrivateKey) -> bytes:
    """RFC 6962 log ID: SHA-256 of the DER SubjectPublicKeyInfo."""
    return hashlib.sha256(spki_der(key)).digest()


@dataclass(frozen=True)
class InstanceKeys:
    ca: ec.EllipticCurvePrivateKey
    ct_log: ec.EllipticCurvePrivateKey
    rekor: ec.EllipticCurvePrivateKey
    oidc: ec.EllipticCurvePrivateKey

    @classmethod
    def load(cls, state: Path) -> InstanceKeys:
        keys = state / "keys"
        return cls(
            ca=load_or_create_key(keys / "fulcio-ca.key"),
            ct_log=load_or_create_key(keys / "ct-log.key"),
            rekor=load_or_create_key(keys / "rekor.key"),
            oidc=load_or_create_key(keys / "oidc.key"),
        )
