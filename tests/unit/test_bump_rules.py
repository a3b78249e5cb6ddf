"""Image references, the never-backwards rule, and the message templates."""

from __future__ import annotations

import pytest

from shipline.bump.core import Direction, compare, repo_relative
from shipline.bump.imageref import ImageRef, parse_image, require_image, semver_key
from shipline.bump.messages import Templates, branch_name, marker, render
from shipline.errors import UsageError

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "registry.acme.test:5000/shop/api:1.4.2",
            ImageRef("registry.acme.test:5000/shop/api", "1.4.2"),
        ),
        (f"shop/api@{DIGEST}", ImageRef("shop/api", None, DIGEST)),
        (
            f"ghcr.io/acme/api:sha-0a1b2c3@{DIGEST}",
            ImageRef("ghcr.io/acme/api", "sha-0a1b2c3", DIGEST),
        ),
    ],
)
def test_references_parse_with_registry_ports_tags_and_digests(
    text: str, expected: ImageRef
) -> None:
    assert parse_image(text) == expected
    assert str(expected) == text


@pytest.mark.parametrize(
    "text", ["registry.acme.test:5000/shop/api", "shop/api@sha256:short", "Shop/API:1", ""]
)
def test_a_reference_without_tag_or_digest_is_bad_input(text: str) -> None:
    with pytest.raises(
        UsageError,
        match=f"input 'image' got '{text}': expected an image reference with a tag or digest",
    ):
        require_image(text)


def test_semver_precedence_including_prereleases() -> None:
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-beta",
        "1.0.0-rc.1",
        "1.0.0",
        "v1.2.0",
        "1.10.0",
    ]
    keys = [semver_key(tag) for tag in ordered]
    assert all(key is not None for key in keys)
    assert keys == sorted(keys)  # type: ignore[type-var]
    assert semver_key("latest") is None


def test_never_backwards_by_semver_or_by_commit_ancestry() -> None:
    assert compare("1.10.0", require_image("app:1.9.9"), None)[0] is Direction.BACKWARD
    assert compare("1.9.9", require_image("app:1.10.0"), None)[0] is Direction.FORWARD
    history = {("0a1b2c3", "9f8e7d6"): True}  # 0a1b2c3 is an ancestor of 9f8e7d6

    def ancestry(older: str, newer: str) -> bool | None:
        return history.get((older, newer), False)

    assert (
        compare("sha-9f8e7d6", require_image("app:sha-0a1b2c3"), ancestry)[0] is Direction.BACKWARD
    )
    assert (
        compare("sha-0a1b2c3", require_image("app:sha-9f8e7d6"), ancestry)[0] is Direction.FORWARD
    )
    # Without a known order (no history, digests, free-form tags) the bump goes ahead.
    assert compare("sha-0a1b2c3", require_image("app:sha-9f8e7d6"), None)[0] is Direction.UNKNOWN
    assert compare("latest", require_image("app:stable"), ancestry)[0] is Direction.UNKNOWN


@pytest.mark.parametrize("path", ["../secrets.yaml", "/etc/passwd", "a/../../b", ""])
def test_files_outside_the_config_repo_are_refused(path: str) -> None:
    with pytest.raises(UsageError, match="expected a path inside the config repository"):
        repo_relative(path)


def test_templates_are_checked_before_anything_runs() -> None:
    with pytest.raises(UsageError, match=r"input 'title' got 'Bump \{ap\}': unknown field \{ap\}"):
        Templates(title="Bump {ap}").check()
    assert (
        branch_name("shipline/bump/{app}/{environment}", "api", "prod eu")
        == "shipline/bump/api/prod-eu"
    )


def test_the_body_carries_commit_digest_run_changelog_and_marker() -> None:
    title, body = render(
        Templates(),
        app="api",
        environment="staging",
        file="values.yaml",
        old_image="shop/api:1.4.2",
        new=require_image(f"shop/api:1.5.0@{DIGEST}"),
        old_version="1.4.2",
        commit="0123456789abcdef",
        run_url="https://github.com/acme/api/actions/runs/1",
        changes=[],
        changelog=["9f8e7d6 fix typo"],
    )
    assert title == "Bump api in staging to 1.5.0"
    for part in (
        DIGEST,
        "0123456789abcdef",
        "actions/runs/1",
        "- 9f8e7d6 fix typo",
        "`shop/api:1.4.2`",
    ):
        assert part in body
    assert body.rstrip().endswith(marker("api", "staging"))


def test_remote_credentials_never_reach_messages() -> None:
    from shipline.bump.gitremote import shown

    assert shown("https://x-access-token:ghs_secret@git.example.test:8443/acme/config.git") == (
        "https://git.example.test:8443/acme/config.git"
    )
    assert shown("/srv/git/config.git") == "/srv/git/config.git"
