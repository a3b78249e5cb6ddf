from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipline.build.cachekey import dependency_cache_key
from shipline.build.tags import (
    EventError,
    event_commit_sha,
    mutable_tag_reason,
    plan_tags,
    version_from_tags,
)

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    "tag", [SHA, "sha-0123456", "pr-12-1f0c3a9", "1.2.3", "v1.2.3", "v1.2.3-rc.1", "1f0c3a9d"]
)
def test_immutable_tags_are_accepted(tag: str) -> None:
    assert mutable_tag_reason(tag) is None


@pytest.mark.parametrize(
    ("tag", "why"),
    [
        ("latest", "'latest' moves"),
        ("LATEST", "'latest' moves"),
        ("main", "looks mutable"),
        ("v1", "looks mutable"),
        ("1.2", "looks mutable"),
        ("stable", "looks mutable"),
        ("-x", "not a valid tag"),
        ("a" * 129, "not a valid tag"),
    ],
)
def test_mutable_or_invalid_tags_are_refused_with_a_reason(tag: str, why: str) -> None:
    reason = mutable_tag_reason(tag)
    assert reason is not None and why in reason


def test_tags_start_with_the_sha_and_do_not_repeat() -> None:
    assert plan_tags(SHA, ["v1.0.0", SHA, "v1.0.0"]) == [SHA, "v1.0.0"]
    assert version_from_tags([SHA, "v2.3.4"]) == "2.3.4"
    assert version_from_tags([SHA]) is None


def test_pull_requests_build_the_head_commit_not_the_merge_commit(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"head": {"sha": SHA.upper()}}}))
    env = {
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_SHA": "f" * 40,
    }
    assert event_commit_sha(env) == SHA
    assert event_commit_sha({"GITHUB_EVENT_NAME": "push", "GITHUB_SHA": SHA}) == SHA
    assert event_commit_sha({}) is None
    with pytest.raises(EventError, match="GITHUB_EVENT_PATH"):
        event_commit_sha({"GITHUB_EVENT_NAME": "pull_request"})


def test_the_pull_request_payload_of_the_official_examples_yields_its_head_sha(
    tmp_path: Path,
) -> None:
    from tests.paths import NPM_MODULES

    examples = json.loads(
        (
            NPM_MODULES / "@octokit" / "webhooks-examples" / "api.github.com" / "index.json"
        ).read_text()
    )
    payload = next(e for e in examples if e["name"] == "pull_request")["examples"][0]
    event = tmp_path / "event.json"
    event.write_text(json.dumps(payload))
    env = {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event)}
    assert event_commit_sha(env) == payload["pull_request"]["head"]["sha"]


def test_the_dependency_key_follows_lock_files_only(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text("print(1)\n")
    (tmp_path / "requirements.txt").write_text("fastapi==1.0\n")
    (tmp_path / "uv.lock").write_text("version = 1\n")
    key, files = dependency_cache_key(tmp_path)
    assert key.startswith("deps-") and [f.name for f in files] == ["requirements.txt", "uv.lock"]
    (tmp_path / "app" / "main.py").write_text("print(2)\n")
    assert dependency_cache_key(tmp_path)[0] == key
    (tmp_path / "requirements.txt").write_text("fastapi==1.1\n")
    assert dependency_cache_key(tmp_path)[0] != key
    assert dependency_cache_key(tmp_path / "app") == ("", [])


def test_lock_files_the_dockerignore_keeps_out_do_not_count(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("fastapi==1.0\n")
    (tmp_path / "requirements-dev.txt").write_text("pytest==8.0\n")
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    (tmp_path / ".dockerignore").write_text("# allow-list\n*\n!requirements.txt\n!app/\n")
    key, files = dependency_cache_key(tmp_path)
    assert [f.name for f in files] == ["requirements.txt"]
    (tmp_path / "requirements-dev.txt").write_text("pytest==9.0\n")
    assert dependency_cache_key(tmp_path)[0] == key


def test_the_example_service_keys_on_its_runtime_requirements_only() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "fastapi-service"
    assert [f.name for f in dependency_cache_key(example)[1]] == ["requirements.txt"]
