"""ES256 JSON Web Tokens, minted by the local OIDC issuer and checked by the local CA."""

from __future__ import annotations

import json
import time
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from shipline.sigstore_local.encoding import b64url, b64url_decode

P256_BYTES = 32


class TokenError(Exception):
    """The token is malformed, badly signed, expired or meant for someone else."""


def mint(key: ec.EllipticCurvePrivateKey, key_id: str, claims: dict[str, Any]) -> str:
    header = {"alg": "ES256", "typ": "JWT", "kid": key_id}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    raw = r.to_bytes(P256_BYTES, "big") + s.to_bytes(P256_BYTES, "big")
    return f"{signing_input}.{b64url(raw)}"


def verify(
    token: str, key: ec.EllipticCurvePublicKey, *, issuer: str, audience: str
) -> dict[str, Any]:
    """The token's claims, once signature, issuer, audience and validity period check out."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("not a JWT: expected three dot-separated parts")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        raw = b64url_decode(parts[2])
    except ValueError as error:
        raise TokenError(f"not a JWT: {error}") from None
    if header.get("alg") != "ES256" or len(raw) != 2 * P256_BYTES:
        raise TokenError("unsupported JWT algorithm: expected ES256")
    signature = encode_dss_signature(
        int.from_bytes(raw[:P256_BYTES], "big"), int.from_bytes(raw[P256_BYTES:], "big")
    )
    try:
        key.verify(signature, f"{parts[0]}.{parts[1]}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise TokenError("JWT signature does not verify with the issuer's key") from None
    if not isinstance(claims, dict):
        raise TokenError("JWT claims are not an object")
    if claims.get("iss") != issuer:
        raise TokenError(f"JWT issuer {claims.get('iss')!r} is not {issuer!r}")
    audiences = claims.get("aud")
    if audience not in (audiences if isinstance(audiences, list) else [audiences]):
        raise TokenError(f"JWT audience {audiences!r} does not include {audience!r}")
    now = time.time()
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= now:
        raise TokenError("JWT has expired")
    if isinstance(claims.get("nbf"), int) and claims["nbf"] > now + 5:
        raise TokenError("JWT is not valid yet")
    return claims
