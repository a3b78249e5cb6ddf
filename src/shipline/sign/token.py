"""The OIDC identity token for keyless signing: given explicitly, or the job's ambient one.

A GitHub job with ``permissions: id-token: write`` gets ACTIONS_ID_TOKEN_REQUEST_URL and
ACTIONS_ID_TOKEN_REQUEST_TOKEN; a GET on that URL with ``audience=sigstore`` returns the
token. Network errors and 5xx are retried with backoff and jitter; a 4xx is final.
"""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping

from shipline.errors import ShiplineError, UsageError

AUDIENCE = "sigstore"
ATTEMPTS = 4
GRANT_HINT = (
    "grant the job `permissions: id-token: write` (pull requests from forks cannot), "
    "or pass an identity-token"
)


def ambient_token(environ: Mapping[str, str], *, timeout: float) -> str:
    url = environ.get("ACTIONS_ID_TOKEN_REQUEST_URL", "")
    request_token = environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "")
    if not url or not request_token:
        raise UsageError(
            "keyless signing needs an OIDC identity token but ACTIONS_ID_TOKEN_REQUEST_URL/"
            f"ACTIONS_ID_TOKEN_REQUEST_TOKEN are unset: {GRANT_HINT}"
        )
    parts = urllib.parse.urlsplit(url)
    query = [*urllib.parse.parse_qsl(parts.query), ("audience", AUDIENCE)]
    request = urllib.request.Request(  # noqa: S310 (the runner's own token endpoint)
        urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query))),
        headers={"Authorization": f"bearer {request_token}", "Accept": "application/json"},
    )
    last_error = ""
    for attempt in range(ATTEMPTS):
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                value = json.loads(response.read()).get("value")
            if not isinstance(value, str) or value.count(".") != 2:
                raise ShiplineError("the OIDC token endpoint answered without a JWT 'value'")
            return value
        except urllib.error.HTTPError as error:
            if error.code < 500:
                raise UsageError(
                    f"the OIDC token request was refused (HTTP {error.code}): {GRANT_HINT}"
                ) from None
            last_error = f"HTTP {error.code}"
        except (OSError, json.JSONDecodeError) as error:
            last_error = str(error)
        if attempt + 1 < ATTEMPTS:
            time.sleep(min(8.0, 0.5 * 2**attempt) * random.uniform(0.5, 1.0))  # noqa: S311
    raise ShiplineError(f"could not get an OIDC token after {ATTEMPTS} attempts: {last_error}")
