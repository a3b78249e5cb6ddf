"""An OIDC issuer minting GitHub-Actions-shaped identity tokens, served the way a runner asks.

A runner fetches its token with ``GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=...`` and the
bearer ``$ACTIONS_ID_TOKEN_REQUEST_TOKEN``. Here a *grant* stands in for the runner's request
token: it is registered with the workflow claims the token will carry.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from shipline.sigstore_local import tokens
from shipline.sigstore_local.encoding import b64url

TOKEN_LIFETIME = 300
CLAIM_VARIABLES = {  # claim -> the runner variable holding the same value
    "repository": "GITHUB_REPOSITORY",
    "repository_id": "GITHUB_REPOSITORY_ID",
    "repository_owner": "GITHUB_REPOSITORY_OWNER",
    "repository_owner_id": "GITHUB_REPOSITORY_OWNER_ID",
    "ref": "GITHUB_REF",
    "ref_type": "GITHUB_REF_TYPE",
    "sha": "GITHUB_SHA",
    "workflow": "GITHUB_WORKFLOW",
    "workflow_ref": "GITHUB_WORKFLOW_REF",
    "workflow_sha": "GITHUB_WORKFLOW_SHA",
    "event_name": "GITHUB_EVENT_NAME",
    "run_id": "GITHUB_RUN_ID",
    "run_number": "GITHUB_RUN_NUMBER",
    "run_attempt": "GITHUB_RUN_ATTEMPT",
    "actor": "GITHUB_ACTOR",
    "runner_environment": "RUNNER_ENVIRONMENT",
}


def github_claims(
    repository: str,
    workflow_path: str,
    ref: str,
    sha: str,
    *,
    run_id: str = "1",
    run_attempt: str = "1",
    event_name: str = "push",
) -> dict[str, str]:
    """The workflow claims of a GitHub Actions job token."""
    owner = repository.split("/", 1)[0]
    workflow_ref = f"{repository}/{workflow_path}@{ref}"
    return {
        "repository": repository,
        "repository_id": "1",
        "repository_owner": owner,
        "repository_owner_id": "1",
        "repository_visibility": "private",
        "ref": ref,
        "ref_type": "tag" if ref.startswith("refs/tags/") else "branch",
        "sha": sha,
        "workflow": workflow_path.rsplit("/", 1)[-1],
        "workflow_ref": workflow_ref,
        "workflow_sha": sha,
        "job_workflow_ref": workflow_ref,
        "job_workflow_sha": sha,
        "event_name": event_name,
        "run_id": run_id,
        "run_number": run_id,
        "run_attempt": run_attempt,
        "actor": owner,
        "runner_environment": "self-hosted",
    }


def claims_from_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """Workflow claims from the variables a runner sets, for a local pipeline run."""
    claims = {claim: environ[name] for claim, name in CLAIM_VARIABLES.items() if environ.get(name)}
    missing = [
        CLAIM_VARIABLES[c] for c in ("repository", "ref", "sha", "workflow_ref") if c not in claims
    ]
    if missing:
        raise ValueError(f"set {', '.join(missing)} to grant a token for this workflow")
    claims.setdefault("repository_owner", claims["repository"].split("/", 1)[0])
    claims["job_workflow_ref"] = claims["workflow_ref"]
    claims.setdefault("workflow_sha", claims["sha"])
    claims["job_workflow_sha"] = claims["workflow_sha"]
    return claims


class TokenIssuer:
    def __init__(self, key: ec.EllipticCurvePrivateKey, issuer: str) -> None:
        self.key = key
        self.issuer = issuer
        self.key_id = b64url(secrets.token_bytes(8))
        self._grants: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def grant(self, claims: Mapping[str, str]) -> str:
        """A request token that yields identity tokens carrying ``claims``."""
        request_token = secrets.token_urlsafe(24)
        with self._lock:
            self._grants[request_token] = dict(claims)
        return request_token

    def token_for(self, request_token: str, audience: str) -> str | None:
        with self._lock:
            claims = self._grants.get(request_token)
        if claims is None:
            return None
        return self.mint(claims, audience)

    def mint(self, claims: Mapping[str, str], audience: str) -> str:
        now = int(time.time())
        subject = f"repo:{claims.get('repository', '')}:ref:{claims.get('ref', '')}"
        payload: dict[str, Any] = {
            **claims,
            "iss": self.issuer,
            "aud": audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME,
            "jti": secrets.token_hex(8),
        }
        return tokens.mint(self.key, self.key_id, payload)

    def verify(self, token: str, audience: str) -> dict[str, Any]:
        return tokens.verify(token, self.key.public_key(), issuer=self.issuer, audience=audience)
