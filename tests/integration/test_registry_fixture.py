from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import pytest

from tests.support.registry import LocalRegistry


def test_anonymous_registry_serves_the_v2_api_on_loopback(registry: LocalRegistry) -> None:
    assert registry.host.startswith("127.0.0.1:")
    with urllib.request.urlopen(f"{registry.url}/v2/_catalog") as answer:  # noqa: S310
        assert "repositories" in json.load(answer)


def test_auth_registry_refuses_without_and_accepts_with_credentials(
    auth_registry: LocalRegistry,
) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{auth_registry.url}/v2/")  # noqa: S310
    assert refused.value.code == 401
    token = base64.b64encode(b"shipline:s3cret-pass").decode()
    request = urllib.request.Request(  # noqa: S310 (a loopback URL the fixture built)
        f"{auth_registry.url}/v2/", headers={"Authorization": f"Basic {token}"}
    )
    with urllib.request.urlopen(request) as answer:  # noqa: S310
        assert answer.status == 200
