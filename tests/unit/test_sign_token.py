"""The ambient GitHub OIDC token: fetched with audience sigstore, 5xx retried, 4xx final."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from shipline.errors import ShiplineError, UsageError
from shipline.sign import token

JWT = "header.payload.signature"


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[list[int], list[str], str]]:
    """A token endpoint answering the statuses queued in ``statuses`` (then 200)."""
    statuses: list[int] = []
    seen: list[str] = []
    monkeypatch.setattr(token.time, "sleep", lambda seconds: None)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            seen.append(f"{self.path} {self.headers.get('Authorization')}")
            status = statuses.pop(0) if statuses else 200
            body = b'{"value": "%s"}' % JWT.encode() if status == 200 else b"{}"
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield statuses, seen, f"http://127.0.0.1:{server.server_address[1]}/token?api-version=2.0"
    server.shutdown()
    server.server_close()


def env(url: str) -> dict[str, str]:
    return {"ACTIONS_ID_TOKEN_REQUEST_URL": url, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "req"}


def test_the_token_is_requested_for_the_sigstore_audience(
    endpoint: tuple[list[int], list[str], str],
) -> None:
    _, seen, url = endpoint
    assert token.ambient_token(env(url), timeout=5) == JWT
    assert seen == ["/token?api-version=2.0&audience=sigstore bearer req"]


def test_server_errors_are_retried(endpoint: tuple[list[int], list[str], str]) -> None:
    statuses, seen, url = endpoint
    statuses += [503, 500]
    assert token.ambient_token(env(url), timeout=5) == JWT
    assert len(seen) == 3


def test_a_refusal_is_final_and_says_how_to_grant_the_permission(
    endpoint: tuple[list[int], list[str], str],
) -> None:
    statuses, seen, url = endpoint
    statuses += [403]
    with pytest.raises(
        UsageError, match=r"HTTP 403\): grant the job `permissions: id-token: write`"
    ):
        token.ambient_token(env(url), timeout=5)
    assert len(seen) == 1


def test_persistent_server_errors_give_up(endpoint: tuple[list[int], list[str], str]) -> None:
    statuses, seen, url = endpoint
    statuses += [502] * token.ATTEMPTS
    with pytest.raises(ShiplineError, match=f"after {token.ATTEMPTS} attempts: HTTP 502"):
        token.ambient_token(env(url), timeout=5)
    assert len(seen) == token.ATTEMPTS


def test_no_token_variables_is_bad_input() -> None:
    with pytest.raises(UsageError, match="id-token: write"):
        token.ambient_token({}, timeout=5)
