"""The local instance: CA, log and token issuer behind one loopback HTTP server."""

from __future__ import annotations

import base64
import ipaddress
import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from shipline.sigstore_local import OPERATOR, UNTRUSTED_LABEL
from shipline.sigstore_local.ca import CertificateRequestError, LocalCA
from shipline.sigstore_local.encoding import b64, b64url
from shipline.sigstore_local.keys import InstanceKeys, log_id, spki_der
from shipline.sigstore_local.log import EntryRejectedError, TransparencyLog
from shipline.sigstore_local.oidc import TokenIssuer
from shipline.sigstore_local.tokens import TokenError

SIGSTORE_AUDIENCE = "sigstore"
MAX_BODY = 4 << 20
STOP_POLL_SECONDS = 0.05  # how soon stop() is noticed
GRANTS_PATH = "/oidc/grants"
# Fulcio's GitHub Actions issuer needs these to fill the SAN and the OIDC extensions.
REQUIRED_CLAIMS = ("repository", "ref", "sha", "workflow_ref", "job_workflow_ref")


def _require_loopback(host: str) -> None:
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the local Sigstore instance only listens on loopback, not {host!r}")


class LocalSigstore:
    """``with LocalSigstore(state_dir) as sigstore: sigstore.trust_config()``."""

    def __init__(self, state: Path, *, host: str = "127.0.0.1", port: int = 0) -> None:
        _require_loopback(host)
        state.mkdir(parents=True, exist_ok=True)
        self.state = state
        self.keys = InstanceKeys.load(state)
        self.ca = LocalCA.load(state, self.keys.ca, self.keys.ct_log)
        self.log = TransparencyLog(state, self.keys.rekor)
        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.daemon_threads = True
        self._server.instance = self  # type: ignore[attr-defined]
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self.issuer = TokenIssuer(self.keys.oidc, f"{self.url}/oidc")
        self._thread: threading.Thread | None = None

    @property
    def oidc_issuer(self) -> str:
        return self.issuer.issuer

    @property
    def token_request_url(self) -> str:
        """What a runner puts in ``ACTIONS_ID_TOKEN_REQUEST_URL`` (it already has a query)."""
        return f"{self.url}/oidc/token?api-version=2.0"

    def grant(self, claims: dict[str, str]) -> str:
        return self.issuer.grant(claims)

    def start(self) -> LocalSigstore:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            args=(STOP_POLL_SECONDS,),
            name="sigstore-local",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() would wait forever for a loop never started
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> LocalSigstore:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def trust_config(self) -> dict[str, Any]:
        """A ClientTrustConfig (v0.1) for this instance; Rekor v1 only, so no TSA is needed."""
        root = self.ca.root
        since = root.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ")

        def transparency_log(url: str, key: Any) -> dict[str, Any]:
            return {
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": b64(spki_der(key)),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": since},
                },
                "logId": {"keyId": b64(log_id(key))},
            }

        def service(url: str) -> dict[str, Any]:
            return {
                "url": url,
                "majorApiVersion": 1,
                "validFor": {"start": since},
                "operator": OPERATOR,
            }

        return {
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": {
                "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
                "tlogs": [transparency_log(self.url, self.keys.rekor)],
                "certificateAuthorities": [
                    {
                        "subject": {
                            "organization": UNTRUSTED_LABEL,
                            "commonName": "shipline-local-fulcio-UNTRUSTED",
                        },
                        "uri": self.url,
                        "certChain": {
                            "certificates": [
                                {"rawBytes": b64(root.public_bytes(serialization.Encoding.DER))}
                            ]
                        },
                        "validFor": {"start": since},
                    }
                ],
                "ctlogs": [transparency_log(f"{self.url}/ct", self.keys.ct_log)],
                "timestampAuthorities": [],
            },
            "signingConfig": {
                "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
                "caUrls": [service(self.url)],
                "oidcUrls": [service(self.oidc_issuer)],
                "rekorTlogUrls": [service(self.url)],
                "tsaUrls": [],
                "rekorTlogConfig": {"selector": "ANY"},
                "tsaConfig": {"selector": "ANY"},
            },
        }

    def write_trust_config(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.trust_config(), indent=2) + "\n")
        return path

    # -- request handling (called from the server's threads) --

    def signing_certificate(self, request: dict[str, Any], authorization: str) -> dict[str, Any]:
        token = authorization.removeprefix("Bearer ").strip()
        claims = self.issuer.verify(token, SIGSTORE_AUDIENCE)
        missing = [name for name in REQUIRED_CLAIMS if not claims.get(name)]
        if missing:
            raise TokenError(f"not a GitHub Actions token: no {', '.join(missing)} claim")
        try:
            pem = base64.b64decode(request["certificateSigningRequest"])
            csr = x509.load_pem_x509_csr(pem)
        except (KeyError, TypeError, ValueError) as error:
            raise CertificateRequestError(
                f"unreadable certificateSigningRequest: {error}"
            ) from None
        leaf = self.ca.issue(csr, claims, self.oidc_issuer)
        chain = [c.public_bytes(serialization.Encoding.PEM).decode() for c in (leaf, self.ca.root)]
        return {"signedCertificateEmbeddedSct": {"chain": {"certificates": chain}}}

    def trust_bundle(self) -> dict[str, Any]:
        root = self.ca.root.public_bytes(serialization.Encoding.PEM).decode()
        return {"chains": [{"certificates": [root]}]}

    def openid_configuration(self) -> dict[str, Any]:
        return {
            "issuer": self.oidc_issuer,
            "jwks_uri": f"{self.oidc_issuer}/jwks",
            "authorization_endpoint": f"{self.oidc_issuer}/authorize",
            "token_endpoint": f"{self.oidc_issuer}/token",
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "description": UNTRUSTED_LABEL,
        }

    def jwks(self) -> dict[str, Any]:
        numbers = self.keys.oidc.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "EC",
                    "crv": "P-256",
                    "alg": "ES256",
                    "use": "sig",
                    "kid": self.issuer.key_id,
                    "x": b64url(numbers.x.to_bytes(32, "big")),
                    "y": b64url(numbers.y.to_bytes(32, "big")),
                }
            ]
        }


class _Handler(BaseHTTPRequestHandler):
    server_version = "shipline-sigstore-local-UNTRUSTED"

    @property
    def instance(self) -> LocalSigstore:
        return self.server.instance  # type: ignore[attr-defined,no-any-return]

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a test or pipeline log has no use for an access log."""

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        self._send(status, {"code": status, "message": message})

    def _json_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("request body too large")
        return json.loads(self.rfile.read(length) or b"null")

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        instance = self.instance
        if parts.path == "/oidc/token":
            authorization = self.headers.get("Authorization", "")
            request_token = authorization.split(" ", 1)[-1].strip()
            audience = query.get("audience", [SIGSTORE_AUDIENCE])[0]
            value = instance.issuer.token_for(request_token, audience)
            if value is None:
                self._error(HTTPStatus.UNAUTHORIZED, "unknown request token")
            else:
                self._send(HTTPStatus.OK, {"count": 1, "value": value})
        elif parts.path == "/oidc/.well-known/openid-configuration":
            self._send(HTTPStatus.OK, instance.openid_configuration())
        elif parts.path == "/oidc/jwks":
            self._send(HTTPStatus.OK, instance.jwks())
        elif parts.path == "/api/v2/trustBundle":
            self._send(HTTPStatus.OK, instance.trust_bundle())
        elif parts.path == "/api/v1/log":
            self._send(HTTPStatus.OK, instance.log.log_info())
        elif parts.path == "/api/v1/log/entries" and "logIndex" in query:
            index = int(query["logIndex"][0])
            if not 0 <= index < instance.log.size:
                self._error(HTTPStatus.NOT_FOUND, f"no entry at index {index}")
            else:
                self._send(HTTPStatus.OK, instance.log.response(index))
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no route for GET {parts.path}")

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        instance = self.instance
        try:
            body = self._json_body()
            if path == "/api/v2/signingCert":
                authorization = self.headers.get("Authorization", "")
                self._send(HTTPStatus.OK, instance.signing_certificate(body, authorization))
            elif path == "/api/v1/log/entries":
                self._send(HTTPStatus.CREATED, instance.log.add(body))
            elif path == GRANTS_PATH:
                claims = {str(k): str(v) for k, v in dict(body).items()}
                self._send(HTTPStatus.CREATED, {"token": instance.grant(claims)})
            else:
                self._error(HTTPStatus.NOT_FOUND, f"no route for POST {path}")
        except TokenError as error:
            self._error(HTTPStatus.UNAUTHORIZED, f"identity token rejected: {error}")
        except (CertificateRequestError, EntryRejectedError, ValueError, TypeError) as error:
            self._error(HTTPStatus.BAD_REQUEST, str(error))
