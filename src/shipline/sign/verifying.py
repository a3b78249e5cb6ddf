"""Offline verification of Sigstore bundles for one image digest, with a precise reason for
every bundle that does not count: the gate reads the reasons, not just a yes or no."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from pydantic import ValidationError
from sigstore.errors import Error as SigstoreError
from sigstore.errors import VerificationError
from sigstore.models import Bundle, TrustedRoot
from sigstore.verify import Verifier

from shipline.sign.identity import ExpectedIdentity, IdentityMismatchError, SignerIdentity
from shipline.sign.statements import subject_digests

IN_TOTO_PAYLOAD = "application/vnd.in-toto+json"


class Reason(StrEnum):
    NO_SIGNATURE = "no-signature"
    WRONG_IDENTITY = "wrong-identity"
    WRONG_DIGEST = "wrong-digest"
    TAMPERED_BUNDLE = "tampered-bundle"
    UNTRUSTED_ROOT = "untrusted-root"
    MISSING_PREDICATE = "missing-predicate"


# Failures that say the bundle's cryptographic material does not come from the trusted
# instance at all, rather than that the bundle was altered after signing.
_UNTRUSTED_MARKERS = ("certificate chain", "failed to verify SCT", "SCT verify")


@dataclass(frozen=True)
class BundleSource:
    """A bundle's JSON and where it came from (a file path or a referrer manifest digest)."""

    origin: str
    text: str


@dataclass(frozen=True)
class BundleResult:
    origin: str
    predicate_type: str = ""
    signer: SignerIdentity | None = None
    log_index: int | None = None
    reason: Reason | None = None
    detail: str = ""

    @property
    def verified(self) -> bool:
        return self.reason is None


@dataclass
class VerificationReport:
    digest: str
    results: list[BundleResult] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # required predicate types not verified

    @property
    def verified(self) -> bool:
        return not self.missing

    @property
    def reason(self) -> Reason | None:
        """The one reason a gate reports: the most telling failure among the bundles."""
        if self.verified:
            return None
        failed = [r.reason for r in self.results if r.reason is not None]
        if not self.results:
            return Reason.NO_SIGNATURE
        for reason in (
            Reason.TAMPERED_BUNDLE,
            Reason.UNTRUSTED_ROOT,
            Reason.WRONG_DIGEST,
            Reason.WRONG_IDENTITY,
        ):
            if reason in failed:
                return reason
        return Reason.MISSING_PREDICATE

    def explanation(self) -> str:
        if self.verified:
            return f"{self.digest}: verified {', '.join(self.verified_types())}"
        if not self.results:
            return f"no signature: no Sigstore bundle was found for {self.digest}"
        details = "; ".join(
            f"{r.origin}: {r.reason.value}: {r.detail}" for r in self.results if r.reason
        )
        text = f"not verified for {', '.join(self.missing)}"
        return f"{text}: {details}" if details else text

    def verified_types(self) -> list[str]:
        return sorted({r.predicate_type for r in self.results if r.verified})


def verify_bundles(
    sources: Sequence[BundleSource],
    trusted_root: TrustedRoot,
    identity: ExpectedIdentity,
    digest: str,
    required_types: Sequence[str],
) -> VerificationReport:
    verifier = Verifier(trusted_root=trusted_root)
    report = VerificationReport(digest)
    authorities = trusted_root.get_fulcio_certs()
    report.results = [
        _verify_one(verifier, authorities, source, identity, digest) for source in sources
    ]
    verified = set(report.verified_types())
    report.missing = [t for t in required_types if t not in verified]
    return report


def _issued_by(certificate: x509.Certificate, authorities: Sequence[x509.Certificate]) -> bool:
    for authority in authorities:
        try:
            certificate.verify_directly_issued_by(authority)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return True
    return False


def _verify_one(
    verifier: Verifier,
    trusted_cas: Sequence[x509.Certificate],
    source: BundleSource,
    identity: ExpectedIdentity,
    digest: str,
) -> BundleResult:
    origin = source.origin
    try:
        bundle = Bundle.from_json(source.text)
    except (SigstoreError, ValueError, ValidationError) as error:
        return BundleResult(origin, reason=Reason.TAMPERED_BUNDLE, detail=_first_line(error))
    signer = SignerIdentity.from_certificate(bundle.signing_certificate)
    log_index = int(bundle.log_entry._inner.log_index)
    claimed = _claimed_predicate_type(bundle)
    try:
        payload_type, payload = verifier.verify_dsse(bundle, identity)
    except IdentityMismatchError as error:
        return BundleResult(
            origin,
            claimed,
            signer,
            log_index,
            Reason.WRONG_IDENTITY,
            f"signed by {signer.describe()}: {error}",
        )
    except (VerificationError, SigstoreError, ValueError) as error:
        text = _first_line(error)
        # A chain failure is tampering when a trusted CA did issue the certificate: only the
        # time it was checked at, taken from the log entry, can then be wrong.
        untrusted = any(marker in text for marker in _UNTRUSTED_MARKERS) and not _issued_by(
            bundle.signing_certificate, trusted_cas
        )
        reason = Reason.UNTRUSTED_ROOT if untrusted else Reason.TAMPERED_BUNDLE
        return BundleResult(origin, claimed, signer, log_index, reason, text)
    if payload_type != IN_TOTO_PAYLOAD:
        return BundleResult(
            origin,
            signer=signer,
            reason=Reason.TAMPERED_BUNDLE,
            detail=f"payload type {payload_type}",
        )
    try:
        statement: dict[str, Any] = json.loads(payload)
    except json.JSONDecodeError:
        return BundleResult(
            origin, signer=signer, reason=Reason.TAMPERED_BUNDLE, detail="payload is not JSON"
        )
    predicate_type = str(statement.get("predicateType", ""))
    subjects = subject_digests(statement)
    if digest not in subjects:
        return BundleResult(
            origin,
            predicate_type,
            signer,
            log_index,
            Reason.WRONG_DIGEST,
            f"signs {', '.join(subjects) or 'no digest'}, not {digest}",
        )
    return BundleResult(origin, predicate_type, signer, log_index)


def _claimed_predicate_type(bundle: Bundle) -> str:
    """What an unverified bundle says it attests, for reports only (never for decisions)."""
    envelope = bundle._inner.dsse_envelope
    try:
        claimed = json.loads(envelope.payload).get("predicateType") if envelope else None
    except (ValueError, AttributeError):
        return ""
    return claimed if isinstance(claimed, str) else ""


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]
