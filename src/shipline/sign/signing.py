"""Signs in-toto statements with the real sigstore Signer: one ephemeral key and certificate
for all statements of a run, each statement its own DSSE bundle and log entry."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sigstore import dsse
from sigstore.errors import Error as SigstoreError
from sigstore.models import Bundle
from sigstore.oidc import IdentityError, IdentityToken
from sigstore.sign import SigningContext

from shipline.errors import ShiplineError, UsageError
from shipline.sign.trust import TrustChoice


@dataclass(frozen=True)
class SignedStatement:
    statement: dict[str, Any]
    bundle: Bundle

    @property
    def predicate_type(self) -> str:
        return str(self.statement["predicateType"])

    @property
    def log_index(self) -> int:
        return int(self.bundle.log_entry._inner.log_index)


def identity_token(raw: str, *, explicit: bool) -> IdentityToken:
    try:
        return IdentityToken(raw)
    except IdentityError as error:
        where = "input 'identity-token' got '***'" if explicit else "the ambient OIDC token"
        raise UsageError(
            f"{where}: expected a valid, unexpired JWT with audience 'sigstore' ({error})"
        ) from None


def sign_statements(
    trust: TrustChoice, token: IdentityToken, statements: Sequence[dict[str, Any]]
) -> list[SignedStatement]:
    try:
        context = SigningContext.from_trust_config(trust.config)
        signed = []
        with context.signer(token, cache=True) as signer:
            for statement in statements:
                payload = json.dumps(statement, separators=(",", ":")).encode()
                bundle = signer.sign_dsse(dsse.Statement(payload))
                signed.append(SignedStatement(statement, bundle))
        return signed
    except (SigstoreError, OSError) as error:
        raise ShiplineError(f"signing with {trust.name} failed: {describe(error)}") from None
    except Exception as error:  # Fulcio/Rekor client errors are not sigstore.errors.Error
        if type(error).__module__.startswith(("sigstore", "requests")):
            raise ShiplineError(f"signing with {trust.name} failed: {describe(error)}") from None
        raise


def describe(error: BaseException) -> str:
    """The error and what the service answered: sigstore's clients drop the answer of a 4xx
    (a ``requests`` Response is falsy then), so it is dug out of the exception chain."""
    text = f"{type(error).__name__}: {error}".rstrip(": ")
    cause: BaseException | None = error
    while cause is not None:
        response = getattr(cause, "response", None)
        status = getattr(response, "status_code", None)
        if status is not None:
            body = str(getattr(response, "text", ""))
            try:
                message = json.loads(body).get("message") or body
            except (ValueError, AttributeError):
                message = body
            return f"{text} (HTTP {status}: {str(message).strip()[:300]})"
        cause = cause.__cause__ or cause.__context__
    return text
