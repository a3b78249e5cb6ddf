"""The one-line editors on real-world-shaped files: each test proves its change by a diff."""

from __future__ import annotations

import difflib
import re
import time

import pytest
import yaml

from shipline.bump.editors import Format, Target, ValueKind, edit_config
from shipline.bump.imageref import require_image
from shipline.errors import UsageError
from tests.support.config_repo import CONFIG_DATA

STAGING = "apps/api/overlays/staging/kustomization.yaml"
PRODUCTION = "apps/api/overlays/production/kustomization.yaml"
VALUES = "charts/api/values.yaml"
MANIFESTS = "manifests/workloads.yaml"
APPLICATION = "generic/app.yaml"
DIGEST = "sha256:" + "4" * 64


def diff(before: str, after: str) -> list[str]:
    """Removed and added lines, as a reviewer sees them."""
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line.startswith(("-", "+")) and not line.startswith(("---", "+++"))
    ]


def edit(path: str, image: str, **target: object) -> tuple[str, str, object]:
    before = (CONFIG_DATA / path).read_text()
    result = edit_config(before, path, Target(require_image(image), **target))  # type: ignore[arg-type]
    return before, result.text, result


def test_kustomize_new_tag_changes_one_line_keeping_quotes_and_comment() -> None:
    before, after, result = edit(STAGING, "registry.acme.test/shop/api:1.5.0")
    assert diff(before, after) == [
        '-    newTag: "1.4.2"    # quoted so 1.10 never becomes a float',
        '+    newTag: "1.5.0"    # quoted so 1.10 never becomes a float',
    ]
    assert result.format is Format.KUSTOMIZE  # detected from the file name
    assert result.old_image == "registry.acme.test/shop/api:1.4.2"


def test_kustomize_digest_replaces_the_tag_on_the_same_line() -> None:
    before, after, _ = edit(STAGING, f"registry.acme.test/shop/api@{DIGEST}")
    assert diff(before, after) == [
        '-    newTag: "1.4.2"    # quoted so 1.10 never becomes a float',
        f'+    digest: "{DIGEST}"    # quoted so 1.10 never becomes a float',
    ]
    assert yaml.safe_load(after)["images"][1] == {
        "name": "api",
        "newName": "registry.acme.test/shop/api",
        "digest": DIGEST,
    }


def test_kustomize_existing_digest_and_flow_style_entries() -> None:
    before, after, _ = edit(PRODUCTION, f"registry.acme.test/shop/api@{DIGEST}")
    assert diff(before, after) == [
        "-  digest: sha256:" + "2" * 64,
        f"+  digest: {DIGEST}",
    ]
    before, after, _ = edit(PRODUCTION, "ghcr.io/acme/worker:2.1.0")
    assert diff(before, after) == [
        "-- {name: ghcr.io/acme/worker, newTag: '2.0.0'}",
        "+- {name: ghcr.io/acme/worker, newTag: '2.1.0'}",
    ]


def test_kustomize_new_name_is_one_more_line_when_the_registry_moves() -> None:
    before, after, result = edit(STAGING, "ghcr.io/acme/api:1.5.0", match="api")
    assert diff(before, after) == [
        "-    newName: registry.acme.test/shop/api",
        '-    newTag: "1.4.2"    # quoted so 1.10 never becomes a float',
        "+    newName: ghcr.io/acme/api",
        '+    newTag: "1.5.0"    # quoted so 1.10 never becomes a float',
    ]
    assert [c.field for c in result.changes] == [
        "images[name=api].newName",
        "images[name=api].newTag",
    ]


def test_kustomize_adds_a_missing_field_at_the_entry_indentation() -> None:
    text = (
        "images:\n- name: api\n  newName: registry.acme.test/shop/api\nresources: [deploy.yaml]\n"
    )
    result = edit_config(
        text, "kustomization.yaml", Target(require_image("registry.acme.test/shop/api:2.0.0"))
    )
    assert result.text == (
        "images:\n- name: api\n  newName: registry.acme.test/shop/api\n  newTag: 2.0.0\nresources: [deploy.yaml]\n"
    )


def test_helm_values_keep_anchors_merge_keys_comments_and_single_quotes() -> None:
    before, after, result = edit(
        VALUES, f"registry.acme.test/shop/api:sha-9f8e7d6@{DIGEST}", digest_path="image.digest"
    )
    assert diff(before, after) == [
        "-  tag: 'sha-0a1b2c3'",
        '-  digest: ""',
        "+  tag: 'sha-9f8e7d6'",
        f'+  digest: "{DIGEST}"',
    ]
    assert result.format is Format.HELM
    assert result.old_image == "registry.acme.test/shop/api:sha-0a1b2c3"
    assert "defaults: &defaults" in after and "<<: *defaults" in after


def test_a_plain_value_that_would_read_as_a_number_gets_quoted() -> None:
    text = "image:\n  repository: shop/api\n  tag: 1.4\n"
    result = edit_config(text, "values.yaml", Target(require_image("shop/api:1.10")))
    assert result.text == 'image:\n  repository: shop/api\n  tag: "1.10"\n'
    assert yaml.safe_load(result.text)["image"]["tag"] == "1.10"


def test_helm_refuses_a_values_file_for_another_image() -> None:
    with pytest.raises(UsageError, match=re.escape("shop/api, not registry.acme.test/other")):
        edit(VALUES, "registry.acme.test/other:1.0.0")


def test_manifests_change_the_named_workloads_only_and_keep_other_documents() -> None:
    before, after, result = edit(MANIFESTS, "registry.acme.test/shop/api:1.5.0")
    assert diff(before, after) == [
        '-          image: "registry.acme.test/shop/api:1.4.2"   # bumped by CI',
        '+          image: "registry.acme.test/shop/api:1.5.0"   # bumped by CI',
        "-          image: registry.acme.test/shop/api:1.4.2",
        "+          image: registry.acme.test/shop/api:1.5.0",
    ]
    assert [c.field for c in result.changes] == [
        "Deployment/api containers[name=api].image",
        "Rollout/api-canary containers[name=api].image",
    ]
    documents = list(yaml.safe_load_all(after))
    assert (
        documents[0]["data"]["image"] == "registry.acme.test/shop/api:0.9.0"
    )  # a ConfigMap is no workload
    assert "api-migrations:1.4.2" in after


def test_manifests_by_container_name_and_docker_hub_names() -> None:
    before, after, _ = edit(
        MANIFESTS, "registry.acme.test/shop/api-migrations:1.5.0", container="migrate"
    )
    assert diff(before, after) == [
        '-          image: "registry.acme.test/shop/api-migrations:1.4.2"',
        '+          image: "registry.acme.test/shop/api-migrations:1.5.0"',
    ]
    before, after, _ = edit(MANIFESTS, "redis:7.4.1")
    assert diff(before, after) == [
        "-        - {name: cache, image: 'docker.io/library/redis:7.2.4'}",
        "+        - {name: cache, image: 'redis:7.4.1'}",
    ]


def test_generic_yaml_path_with_a_selector_writes_only_the_tag() -> None:
    path = "spec.source.helm.parameters[name=image.tag].value"
    before, after, result = edit(
        APPLICATION, "registry.acme.test/shop/api:v1.5.0", yaml_path=path, value=ValueKind.TAG
    )
    assert diff(before, after) == ["-          value: v1.4.2", "+          value: v1.5.0"]
    assert result.format is Format.YAML_PATH and result.old_version == "v1.4.2"


def test_the_same_image_again_is_no_edit() -> None:
    before, _after, result = edit(STAGING, "registry.acme.test/shop/api:1.4.2")
    assert not result.changed and result.text == before


def test_an_anchored_value_keeps_its_anchor() -> None:
    text = "image:\n  repository: shop/api\n  tag: &apiTag 1.4.2\nsidecar:\n  tag: *apiTag\n"
    result = edit_config(text, "values.yaml", Target(require_image("shop/api:1.5.0")))
    assert result.text == text.replace("&apiTag 1.4.2", "&apiTag 1.5.0")


def test_a_path_through_an_alias_is_refused() -> None:
    text = "base: &b\n  tag: 1.4.2\nimage: *b\n"
    with pytest.raises(UsageError, match="through an alias"):
        edit_config(text, "values.yaml", Target(require_image("shop/api:1.5.0")))


@pytest.mark.parametrize(
    ("path", "target", "message"),
    [
        (
            VALUES,
            {"yaml_path": "image.version"},
            "YAML path 'image.version' was not found in charts/api/values.yaml",
        ),
        (VALUES, {"digest_path": "image.sha"}, "YAML path 'image.sha' was not found"),
        (STAGING, {"match": "nginx"}, "no 'images:' entry named nginx"),
        (MANIFESTS, {"container": "sidecar"}, "no container named sidecar"),
        (
            MANIFESTS,
            {"match": "registry.acme.test/shop/web"},
            "no container image registry.acme.test/shop/web",
        ),
        (APPLICATION, {}, "cannot tell the format of generic/app.yaml"),
        (APPLICATION, {"yaml_path": "spec..x"}, "is not understood"),
    ],
)
def test_what_is_not_found_is_named(path: str, target: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message.replace(".", r"\.").replace("(", r"\(")):
        edit(path, "registry.acme.test/shop/api:1.5.0", **target)


def test_an_alias_bomb_is_refused_without_expanding_it() -> None:
    text = (CONFIG_DATA / "hostile" / "alias-bomb.yaml").read_text()
    started = time.process_time()
    with pytest.raises(UsageError, match="alias bomb"):
        edit_config(
            text,
            "hostile/alias-bomb.yaml",
            Target(require_image("registry.acme.test/shop/api:1.5.0")),
        )
    # 9**9 nodes expanded would take minutes and gigabytes; being refused at all proves it was not.
    assert time.process_time() - started < 60


def test_recursive_and_malformed_yaml_are_refused() -> None:
    image = Target(require_image("registry.acme.test/shop/api:1.5.0"))
    with pytest.raises(UsageError, match="recursive alias"):
        edit_config((CONFIG_DATA / "hostile" / "recursive.yaml").read_text(), "values.yaml", image)
    with pytest.raises(UsageError, match="is not valid YAML"):
        edit_config((CONFIG_DATA / "hostile" / "malformed.yaml").read_text(), "values.yaml", image)


def test_python_tags_are_never_constructed() -> None:
    text = "image:\n  repository: shop/api\n  tag: !!python/object/apply:os.system ['exit 3']\n"
    with pytest.raises(UsageError, match=r"image\.tag is a list, not a single value"):
        edit_config(text, "values.yaml", Target(require_image("shop/api:1.5.0")))


def test_a_container_shared_through_an_anchor_is_written_once() -> None:
    text = (
        "kind: Deployment\nmetadata: {name: api}\nspec:\n  template:\n    spec:\n"
        "      containers: &main\n        - name: api\n          image: shop/api:1.4.2\n"
        "      initContainers: *main\n"
    )
    result = edit_config(text, "deploy.yaml", Target(require_image("shop/api:1.5.0")))
    assert diff(text, result.text) == [
        "-          image: shop/api:1.4.2",
        "+          image: shop/api:1.5.0",
    ]
    assert len(result.changes) == 1
