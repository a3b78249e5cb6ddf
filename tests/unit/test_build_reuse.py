"""The rerun decision of build-cache as a pure function: build, reuse or refuse."""

from __future__ import annotations

from shipline.build.reuse import ReuseVerdict, decide_reuse, image_labels

REPOSITORY = "127.0.0.1:5000/shop/orders"
SHA = "0123456789abcdef0123456789abcdef01234567"
OTHER_SHA = "f" * 40
DIGEST = "sha256:" + "a" * 64
OTHER_DIGEST = "sha256:" + "b" * 64


def test_no_requested_tag_exists_so_the_commit_is_built() -> None:
    decision = decide_reuse(REPOSITORY, SHA, {SHA: None, "v1.0.0": None}, {})
    assert decision.verdict is ReuseVerdict.BUILD
    assert decision.digest is None


def test_every_tag_naming_this_commits_image_reuses_it() -> None:
    decision = decide_reuse(REPOSITORY, SHA, {SHA: DIGEST, "v1.0.0": DIGEST}, {DIGEST: SHA})
    assert decision.verdict is ReuseVerdict.REUSE
    assert decision.digest == DIGEST
    assert SHA in decision.reason


def test_only_some_tags_existing_is_refused_naming_the_missing_one() -> None:
    decision = decide_reuse(REPOSITORY, SHA, {SHA: DIGEST, "v1.0.1": None}, {DIGEST: SHA})
    assert decision.verdict is ReuseVerdict.REFUSE
    assert decision.digest is None
    assert f"{REPOSITORY}:{SHA} already names {DIGEST}" in decision.reason
    assert "v1.0.1 does not exist" in decision.reason


def test_tags_naming_different_images_are_refused() -> None:
    decision = decide_reuse(
        REPOSITORY,
        SHA,
        {SHA: DIGEST, "v1.0.0": OTHER_DIGEST},
        {DIGEST: SHA, OTHER_DIGEST: SHA},
    )
    assert decision.verdict is ReuseVerdict.REFUSE
    assert "different images" in decision.reason
    assert f"{REPOSITORY}:v1.0.0 already names {OTHER_DIGEST}" in decision.reason


def test_an_image_built_from_another_commit_is_refused() -> None:
    decision = decide_reuse(REPOSITORY, SHA, {SHA: DIGEST}, {DIGEST: OTHER_SHA})
    assert decision.verdict is ReuseVerdict.REFUSE
    assert f"built from commit {OTHER_SHA}, not {SHA}" in decision.reason


def test_an_image_without_a_readable_revision_label_is_refused() -> None:
    decision = decide_reuse(REPOSITORY, SHA, {SHA: DIGEST}, {DIGEST: None})
    assert decision.verdict is ReuseVerdict.REFUSE
    assert "no org.opencontainers.image.revision label" in decision.reason
    assert decide_reuse(REPOSITORY, SHA, {SHA: DIGEST}, {}).verdict is ReuseVerdict.REFUSE


def test_labels_come_from_the_image_configuration_and_malformed_ones_give_none() -> None:
    config = {"config": {"Labels": {"org.opencontainers.image.revision": SHA}}}
    assert image_labels(config) == {"org.opencontainers.image.revision": SHA}
    assert image_labels({"config": {"Labels": None}}) == {}
    assert image_labels({"config": ["not", "a", "mapping"]}) == {}
    assert image_labels({}) == {}
