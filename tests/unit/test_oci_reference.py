from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipline.oci.auth import AuthFileError, Credentials, find_credentials, write_auth_file
from shipline.oci.client import RetryPolicy, parse_challenge, referrers_tag
from shipline.oci.reference import (
    ImageReference,
    ReferenceError,
    is_loopback,
    parse_reference,
    parse_repository,
)

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ghcr.io/owner/app:v1.2.3", ImageReference("ghcr.io", "owner/app", "v1.2.3")),
        ("127.0.0.1:5000/shop/orders", ImageReference("127.0.0.1:5000", "shop/orders")),
        ("localhost/app@" + DIGEST, ImageReference("localhost", "app", None, DIGEST)),
        ("python:3.12-slim", ImageReference("docker.io", "library/python", "3.12-slim")),
        ("owner/app", ImageReference("docker.io", "owner/app")),
        ("[::1]:5000/a/b:t", ImageReference("[::1]:5000", "a/b", "t")),
    ],
)
def test_references_parse_by_the_distribution_grammar(text: str, expected: ImageReference) -> None:
    assert parse_reference(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ghcr.io/Owner/App",
        "ghcr.io/owner/app:",
        "ghcr.io/owner/app:-x",
        "ghcr.io/owner/app@sha256:12",
        "a//b",
    ],
)
def test_malformed_references_are_refused(text: str) -> None:
    with pytest.raises(ReferenceError):
        parse_reference(text)


def test_a_repository_to_push_to_carries_no_tag() -> None:
    with pytest.raises(ReferenceError, match="give the repository alone"):
        parse_repository("ghcr.io/owner/app:latest")
    reference = parse_repository("ghcr.io/owner/app")
    assert str(reference.with_tag("v1.0.0")) == "ghcr.io/owner/app:v1.0.0"
    assert str(reference.with_digest(DIGEST)) == f"ghcr.io/owner/app@{DIGEST}"


def test_loopback_registries_are_recognised() -> None:
    assert is_loopback("127.0.0.1:5000") and is_loopback("localhost") and is_loopback("[::1]:5000")
    assert not is_loopback("ghcr.io") and not is_loopback("10.0.0.1:5000")


def test_challenges_and_fallback_tags() -> None:
    scheme, params = parse_challenge(
        'Bearer realm="https://auth.io/token",service="reg",scope="repository:a:pull"'
    )
    assert scheme == "bearer"
    assert params == {
        "realm": "https://auth.io/token",
        "service": "reg",
        "scope": "repository:a:pull",
    }
    assert parse_challenge('Basic realm="x"')[0] == "basic"
    assert referrers_tag(DIGEST) == "sha256-" + "ab" * 32


def test_backoff_is_bounded_and_jittered() -> None:
    import random

    policy = RetryPolicy(attempts=5, base_delay=0.5, max_delay=4.0)
    rng = random.Random(7)
    delays = [policy.delay(n, rng) for n in range(10)]
    assert all(0 <= d <= 4.0 for d in delays)
    assert len(set(delays)) == len(delays)  # jittered, not a fixed schedule


def test_credentials_come_from_the_first_auth_file_that_has_the_registry(tmp_path: Path) -> None:
    podman_file = tmp_path / "auth.json"
    docker_dir = tmp_path / "docker"
    write_auth_file(docker_dir / "config.json", "ghcr.io", Credentials("docker-user", "d-pass"))
    podman_file.write_text(
        json.dumps({"auths": {"127.0.0.1:5000": {"username": "u", "password": "p"}}})
    )
    env = {"REGISTRY_AUTH_FILE": str(podman_file), "DOCKER_CONFIG": str(docker_dir)}
    assert find_credentials("127.0.0.1:5000", env) == Credentials("u", "p")
    assert find_credentials("ghcr.io", env) == Credentials("docker-user", "d-pass")
    assert find_credentials("quay.io", env) is None
    assert (docker_dir / "config.json").stat().st_mode & 0o777 == 0o600
    assert "d-pass" not in repr(Credentials("docker-user", "d-pass"))


def test_an_unreadable_auth_file_is_an_error_naming_it(tmp_path: Path) -> None:
    broken = tmp_path / "auth.json"
    broken.write_text("{not json")
    with pytest.raises(AuthFileError, match=str(broken)):
        find_credentials("ghcr.io", {"REGISTRY_AUTH_FILE": str(broken)})
