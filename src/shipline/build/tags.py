"""Immutable tags: which commit an image is for, and which tags may name it.

A tag that can be moved to another image (``latest``, ``main``, ``v1``, ``1.2``) breaks
the promise that what was tested is what gets deployed, so only tags that name one build
are accepted: a commit SHA (alone or inside the tag, e.g. ``pr-12-1f0c3a9``) or a full
semantic version (``1.2.3``, ``v1.2.3-rc.1``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shipline.oci.reference import is_valid_tag

FULL_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_SHA_SEGMENT = re.compile(r"(?:^|[-_.])[0-9a-f]{7,64}(?:$|[-_.])")
_FULL_SEMVER = re.compile(r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?$")
PULL_REQUEST_EVENTS = ("pull_request", "pull_request_target")
IMMUTABLE_FORMS = (
    "a commit SHA (or a tag containing one, e.g. pr-12-1f0c3a9) or a full version such as v1.2.3"
)


class EventError(ValueError):
    """The event payload is missing or unreadable where the commit SHA must come from it."""


def mutable_tag_reason(tag: str) -> str | None:
    """Why ``tag`` cannot be an immutable tag, or None when it can."""
    if not is_valid_tag(tag):
        return "not a valid tag (letters, digits, '_', '.', '-'; at most 128, not starting with '.' or '-')"
    if tag.lower() == "latest":
        return "'latest' moves with every push"
    if FULL_SHA.match(tag) or _SHA_SEGMENT.search(tag) or _FULL_SEMVER.match(tag):
        return None
    return f"it looks mutable; expected {IMMUTABLE_FORMS}"


def event_commit_sha(environ: Mapping[str, str]) -> str | None:
    """The commit a workflow run builds: the PR head on pull_request events, else GITHUB_SHA.

    On pull_request GitHub sets GITHUB_SHA to a merge commit that exists only in the
    runner's checkout; the image must carry the commit the author pushed.
    """
    if environ.get("GITHUB_EVENT_NAME") in PULL_REQUEST_EVENTS:
        payload = _event_payload(environ)
        head = (payload.get("pull_request") or {}).get("head") or {}
        sha = head.get("sha")
        if not isinstance(sha, str) or not sha:
            raise EventError("the pull_request event payload has no pull_request.head.sha")
        return sha.lower()
    sha = environ.get("GITHUB_SHA", "").strip().lower()
    return sha or None


def _event_payload(environ: Mapping[str, str]) -> dict[str, Any]:
    path = environ.get("GITHUB_EVENT_PATH")
    if not path:
        raise EventError("GITHUB_EVENT_PATH is not set on a pull_request event")
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise EventError(f"cannot read the event payload {path}: {error}") from None
    if not isinstance(payload, dict):
        raise EventError(f"the event payload {path} is not a JSON object")
    return payload


def plan_tags(sha: str, extra: list[str]) -> list[str]:
    """The commit SHA first, then extra tags in the order given, without repeats."""
    tags = [sha]
    for tag in extra:
        if tag not in tags:
            tags.append(tag)
    return tags


def version_from_tags(tags: list[str]) -> str | None:
    """The first full-version tag, without its ``v``: the image's version label."""
    for tag in tags:
        if _FULL_SEMVER.match(tag):
            return tag.removeprefix("v")
    return None
