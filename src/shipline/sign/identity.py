"""Who signed: the GitHub workflow identity in a Fulcio certificate, and the policy a deploy
gate holds it to (repository, workflow path, ref or ref pattern, OIDC issuer)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import ObjectIdentifier
from sigstore.errors import VerificationError

SIGSTORE_ARC = "1.3.6.1.4.1.57264.1."
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"


class IdentityMismatchError(VerificationError):
    """The signature is valid but was made by a workflow the policy does not accept."""


def _extension_text(certificate: x509.Certificate, arc: int, *, der: bool) -> str:
    """An OIDC extension's value; version 2 extensions hold a DER UTF8String."""
    try:
        extension = certificate.extensions.get_extension_for_oid(
            ObjectIdentifier(f"{SIGSTORE_ARC}{arc}")
        )
    except x509.ExtensionNotFound:
        return ""
    raw = extension.value.value if isinstance(extension.value, x509.UnrecognizedExtension) else b""
    if der:
        if len(raw) < 2 or raw[0] != 0x0C:
            return ""
        length, offset = raw[1], 2
        if length & 0x80:
            count = length & 0x7F
            length, offset = int.from_bytes(raw[2 : 2 + count], "big"), 2 + count
        raw = raw[offset : offset + length]
    return raw.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class SignerIdentity:
    issuer: str
    repository: str
    ref: str
    workflow_uri: str  # https://github.com/owner/repo/<path>@<ref> of the calling workflow
    san: str

    @classmethod
    def from_certificate(cls, certificate: x509.Certificate) -> SignerIdentity:
        issuer = _extension_text(certificate, 8, der=True) or _extension_text(
            certificate, 1, der=False
        )
        repository = _extension_text(certificate, 5, der=False)
        if not repository:
            source = _extension_text(certificate, 12, der=True)
            repository = source.split("://", 1)[-1].split("/", 1)[-1] if source else ""
        ref = _extension_text(certificate, 14, der=True) or _extension_text(
            certificate, 6, der=False
        )
        try:
            sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
            uris = sans.value.get_values_for_type(x509.UniformResourceIdentifier)
        except x509.ExtensionNotFound:
            uris = []
        san = uris[0] if uris else ""
        workflow_uri = _extension_text(certificate, 18, der=True) or san
        return cls(issuer, repository, ref, workflow_uri, san)

    @property
    def workflow_path(self) -> str:
        """The workflow file inside its repository, e.g. .github/workflows/release.yml."""
        location = self.workflow_uri.split("@", 1)[0]
        parts = location.split("://", 1)[-1].split("/")
        return "/".join(parts[3:]) if len(parts) > 3 else ""

    def describe(self) -> str:
        return f"{self.repository} {self.workflow_path}@{self.ref} (issuer {self.issuer})"


@dataclass(frozen=True)
class ExpectedIdentity:
    """What a deploy gate accepts; empty fields other than the issuer are not checked."""

    repository: str
    workflow: str
    ref: str
    issuer: str = GITHUB_ISSUER

    def mismatches(self, actual: SignerIdentity) -> list[str]:
        problems = []
        if actual.issuer != self.issuer:
            problems.append(f"issuer is {actual.issuer or 'absent'}, expected {self.issuer}")
        if self.repository and actual.repository.lower() != self.repository.lower():
            problems.append(
                f"repository is {actual.repository or 'absent'}, expected {self.repository}"
            )
        if self.workflow and actual.workflow_path != self.workflow.removeprefix("./"):
            problems.append(
                f"workflow is {actual.workflow_path or 'absent'}, expected {self.workflow}"
            )
        if self.ref and not fnmatch.fnmatchcase(actual.ref, self.ref):
            problems.append(f"ref is {actual.ref or 'absent'}, expected {self.ref}")
        return problems

    def verify(self, certificate: x509.Certificate) -> None:
        """The sigstore VerificationPolicy protocol: raise when the signer is not accepted."""
        problems = self.mismatches(SignerIdentity.from_certificate(certificate))
        if problems:
            raise IdentityMismatchError("; ".join(problems))
