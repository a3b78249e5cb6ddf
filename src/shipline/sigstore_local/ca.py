"""A Fulcio-compatible certificate authority for GitHub Actions identity tokens.

Leaves follow Fulcio's profile: empty subject, the workflow URI as a critical SAN, code
signing, the Sigstore OIDC extensions (1.3.6.1.4.1.57264.1.*) and exactly one embedded
precertificate SCT. ``cryptography`` cannot build SCT objects, so the SCT list is written as
raw DER; and since the CT signature covers the precertificate TBS *without* that extension,
the leaf is built twice with identical serial, validity and extension order.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from shipline.sigstore_local import UNTRUSTED_LABEL
from shipline.sigstore_local.keys import log_id, spki_der

LEAF_LIFETIME = datetime.timedelta(minutes=10)
ROOT_LIFETIME = datetime.timedelta(days=3650)
SCT_LIST_OID = ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
SIGSTORE_OID = "1.3.6.1.4.1.57264.1."
GITHUB = "https://github.com"


class CertificateRequestError(Exception):
    """The CSR is malformed or not signed by the key it carries."""


def _oid(arc: int) -> ObjectIdentifier:
    return ObjectIdentifier(f"{SIGSTORE_OID}{arc}")


def _der_utf8(text: str) -> bytes:
    """A DER UTF8String, the encoding Fulcio uses for the version 2 extensions."""
    body = text.encode()
    return b"\x0c" + _der_length(len(body)) + body


def _der_octet_string(body: bytes) -> bytes:
    return b"\x04" + _der_length(len(body)) + body


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(encoded)]) + encoded


def github_extensions(claims: Mapping[str, Any], issuer: str) -> list[tuple[int, bytes]]:
    """Fulcio's extensions for a GitHub Actions token: (arc, DER value) in Fulcio's order."""

    def claim(name: str) -> str:
        return str(claims.get(name, ""))

    repository = claim("repository")
    run_uri = (
        f"{GITHUB}/{repository}/actions/runs/{claim('run_id')}/attempts/{claim('run_attempt')}"
    )
    legacy = [  # version 1: the raw string bytes, no DER wrapping
        (1, issuer),
        (2, claim("event_name")),
        (3, claim("sha")),
        (4, claim("workflow")),
        (5, repository),
        (6, claim("ref")),
    ]
    current = [  # version 2: DER UTF8String
        (8, issuer),
        (9, f"{GITHUB}/{claim('job_workflow_ref')}"),
        (10, claim("job_workflow_sha")),
        (11, claim("runner_environment")),
        (12, f"{GITHUB}/{repository}"),
        (13, claim("sha")),
        (14, claim("ref")),
        (15, claim("repository_id")),
        (16, f"{GITHUB}/{claim('repository_owner')}"),
        (17, claim("repository_owner_id")),
        (18, f"{GITHUB}/{claim('workflow_ref')}"),
        (19, claim("workflow_sha")),
        (20, claim("event_name")),
        (21, run_uri),
        (22, claim("repository_visibility")),
    ]
    return [(arc, value.encode()) for arc, value in legacy if value] + [
        (arc, _der_utf8(value)) for arc, value in current if value
    ]


@dataclass
class LocalCA:
    key: ec.EllipticCurvePrivateKey
    ct_log_key: ec.EllipticCurvePrivateKey
    root: x509.Certificate

    @classmethod
    def load(
        cls, state: Path, key: ec.EllipticCurvePrivateKey, ct_log_key: ec.EllipticCurvePrivateKey
    ) -> LocalCA:
        path = state / "fulcio-root.pem"
        if path.exists():
            root = x509.load_pem_x509_certificate(path.read_bytes())
        else:
            root = _self_signed_root(key)
            path.write_bytes(root.public_bytes(serialization.Encoding.PEM))
        return cls(key, ct_log_key, root)

    def issue(
        self, csr: x509.CertificateSigningRequest, claims: Mapping[str, Any], issuer: str
    ) -> x509.Certificate:
        if not csr.is_signature_valid:
            raise CertificateRequestError("the CSR is not signed by the key it carries")
        public_key = csr.public_key()
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            raise CertificateRequestError("only EC public keys are accepted")
        now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        serial = int.from_bytes(secrets.token_bytes(19), "big") | 1
        workflow_uri = f"{GITHUB}/{claims.get('job_workflow_ref', '')}"
        extensions: list[tuple[x509.ExtensionType, bool]] = [
            (x509.KeyUsage(True, False, False, False, False, False, False, False, False), True),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), False),
            (x509.SubjectKeyIdentifier.from_public_key(public_key), False),
            (x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), False),
            (x509.SubjectAlternativeName([x509.UniformResourceIdentifier(workflow_uri)]), True),
        ]
        extensions += [
            (x509.UnrecognizedExtension(_oid(arc), value), False)
            for arc, value in github_extensions(claims, issuer)
        ]

        def build(extra: list[tuple[x509.ExtensionType, bool]]) -> x509.Certificate:
            builder = (
                x509.CertificateBuilder()
                .subject_name(x509.Name([]))
                .issuer_name(self.root.subject)
                .public_key(public_key)
                .serial_number(serial)
                .not_valid_before(now)
                .not_valid_after(now + LEAF_LIFETIME)
            )
            for extension, critical in [*extensions, *extra]:
                builder = builder.add_extension(extension, critical=critical)
            return builder.sign(self.key, hashes.SHA256())

        precertificate = build([])
        sct = self._sct(precertificate.tbs_certificate_bytes, now)
        sct_list = struct.pack("!H", len(sct)) + sct
        embedded = x509.UnrecognizedExtension(
            SCT_LIST_OID, _der_octet_string(struct.pack("!H", len(sct_list)) + sct_list)
        )
        return build([(embedded, False)])

    def _sct(self, precert_tbs: bytes, when: datetime.datetime) -> bytes:
        """One RFC 6962 v1 SCT over a precert entry, signed by the CT log key."""
        timestamp = int(when.timestamp() * 1000)
        issuer_key_hash = hashlib.sha256(spki_der(self.key)).digest()
        signed = (
            struct.pack("!BBQH", 0, 0, timestamp, 1)  # v1, certificate_timestamp, precert_entry
            + issuer_key_hash
            + len(precert_tbs).to_bytes(3, "big")
            + precert_tbs
            + struct.pack("!H", 0)  # no CT extensions
        )
        signature = self.ct_log_key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return (
            struct.pack("!B", 0)
            + log_id(self.ct_log_key)
            + struct.pack("!QH", timestamp, 0)
            + struct.pack("!BBH", 4, 3, len(signature))  # sha256, ecdsa
            + signature
        )


def _self_signed_root(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, UNTRUSTED_LABEL),
            x509.NameAttribute(NameOID.COMMON_NAME, "shipline-local-fulcio-UNTRUSTED"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(int.from_bytes(secrets.token_bytes(19), "big") | 1)
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + ROOT_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
