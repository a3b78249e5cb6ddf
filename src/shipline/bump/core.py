"""What both transports share: the decision to write, the outcome, backoff, source history."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath

from shipline.bump.editors import Change, EditResult, Target, edit_config
from shipline.bump.imageref import ImageRef, commit_in_tag, parse_image, semver_key
from shipline.errors import ShiplineError, ToolFailedError, UsageError
from shipline.tools import ToolResult, find_tool, run_tool

GIT_HINT = "install git (apt-get install git)"


class Operation(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


class Direction(StrEnum):
    FORWARD = "forward"
    SAME = "same"
    BACKWARD = "backward"
    UNKNOWN = "unknown"


# Title and body of the change, written once the old image and the changed lines are known.
Describe = Callable[[EditResult], tuple[str, str]]


def fixed_message(title: str, body: str = "") -> Describe:
    return lambda _edit: (title, body)


# Given (older, newer) commit SHAs: True if older is an ancestor of newer, None if unknown.
Ancestry = Callable[[str, str], bool | None]


@dataclass(frozen=True)
class Decision:
    edit: EditResult
    direction: Direction
    reason: str

    @property
    def writes(self) -> bool:
        return self.edit.changed and self.direction is not Direction.BACKWARD


@dataclass(frozen=True)
class Bump:
    """One file to change to one image; the same for every transport."""

    file: str
    target: Target
    allow_downgrade: bool = False
    ancestry: Ancestry | None = None

    def decide(self, text: str) -> Decision:
        edit = edit_config(text, self.file, self.target)
        if not edit.changed:
            return Decision(edit, Direction.SAME, f"{self.file} already pins {self.target.image}")
        direction, reason = compare(edit.old_version, self.target.image, self.ancestry)
        if direction is Direction.BACKWARD and self.allow_downgrade:
            return Decision(edit, Direction.FORWARD, f"{reason}; allowed by allow-downgrade")
        return Decision(edit, direction, reason)


@dataclass(frozen=True)
class Settled:
    """Why nothing needs writing, and where the image already stands."""

    reason: str
    backwards: bool
    on_branch: bool  # the bump branch (not the base) already holds the image or a newer one
    edit: EditResult


def already_settled(on_base: Decision, on_branch: Decision | None, branch: str) -> Settled | None:
    """None when a write is due; a bump branch holding this image (or a newer one) settles it
    before the base does, so a rerun or an older pipeline writes nothing."""
    if on_branch is not None:
        if not on_branch.edit.changed:
            image = on_branch.edit.old_image
            return Settled(f"branch {branch} already pins {image}", False, True, on_branch.edit)
        if on_branch.direction is Direction.BACKWARD:
            reason = f"branch {branch} carries a newer image: {on_branch.reason}"
            return Settled(reason, True, True, on_branch.edit)
    if not on_base.writes:
        backwards = on_base.direction is Direction.BACKWARD
        return Settled(on_base.reason, backwards, False, on_base.edit)
    return None


def compare(old_version: str, new: ImageRef, ancestry: Ancestry | None) -> tuple[Direction, str]:
    """Semver precedence when both tags are semver; commit ancestry in the source repository
    when both tags name commits; otherwise the order is unknown and the bump goes ahead."""
    new_version = new.version
    if old_version == new_version:
        return Direction.SAME, f"{old_version} is already pinned"
    old_key, new_key = semver_key(old_version), semver_key(new_version)
    if old_key is not None and new_key is not None:
        if new_key < old_key:
            return Direction.BACKWARD, f"{new_version} is an older version than {old_version}"
        return Direction.FORWARD, f"{new_version} follows {old_version} (semver)"
    old_commit, new_commit = commit_in_tag(old_version), commit_in_tag(new_version)
    if old_commit and new_commit and ancestry is not None:
        if ancestry(new_commit, old_commit):
            return Direction.BACKWARD, f"commit {new_commit} is an ancestor of {old_commit}"
        if ancestry(old_commit, new_commit):
            return Direction.FORWARD, f"commit {new_commit} descends from {old_commit}"
    return Direction.UNKNOWN, f"order of {old_version or 'nothing'} and {new_version} is unknown"


@dataclass
class Outcome:
    operation: Operation
    commit_sha: str
    old_image: str
    new_image: str
    branch: str
    changes: list[Change] = field(default_factory=list)
    pr_number: int | None = None
    pr_url: str = ""
    api_calls: int = 0
    attempts: int = 1
    notes: list[str] = field(default_factory=list)
    backwards: bool = False  # not written because the new image is older than the pinned one
    warnings: list[str] = field(default_factory=list)  # done, but something asked for was refused


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter, bounded in attempts and in each wait."""

    attempts: int = 5
    initial: float = 0.5
    maximum: float = 30.0
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int) -> float:
        ceiling = min(self.maximum, self.initial * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not a secret

    def wait(self, attempt: int, at_least: float = 0.0) -> None:
        """Backs off; ``at_least`` (a server's Retry-After) wins even over ``maximum``."""
        self.sleep(max(at_least, min(self.maximum, self.delay(attempt))))


def repo_relative(file: str) -> str:
    """``file`` as a clean path inside the config repository, or bad input."""
    path = PurePosixPath(file.replace("\\", "/"))
    if not file.strip() or path.is_absolute() or ".." in path.parts or "\0" in file:
        raise UsageError(f"input 'file' got '{file}': expected a path inside the config repository")
    return path.as_posix()


class Git:
    """The git command line, bounded in time; failures raise with git's own words."""

    def __init__(self, cwd: Path, timeout: float = 120.0) -> None:
        self.executable = find_tool("git", GIT_HINT)
        self.cwd = cwd
        self.timeout = timeout

    def run(self, *args: str, ok_codes: Sequence[int] = (0,)) -> ToolResult:
        return run_tool(
            [self.executable, *args],
            cwd=self.cwd,
            timeout=self.timeout,
            ok_codes=ok_codes,
            env={"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
        )

    def __call__(self, *args: str, ok_codes: Sequence[int] = (0,)) -> str:
        return self.run(*args, ok_codes=ok_codes).stdout

    def code(self, *args: str) -> int:
        return self.run(*args, ok_codes=range(256)).returncode


class SourceHistory:
    """The application's own checkout: commit order and the changelog between two commits."""

    def __init__(self, checkout: Path) -> None:
        self.git = Git(checkout, timeout=60)

    def ancestry(self, older: str, newer: str) -> bool | None:
        try:
            if self.git.code("cat-file", "-e", f"{older}^{{commit}}") or self.git.code(
                "cat-file", "-e", f"{newer}^{{commit}}"
            ):
                return None
            return self.git.code("merge-base", "--is-ancestor", older, newer) == 0
        except ShiplineError:
            return None

    def changelog(self, old_version: str, new_version: str, limit: int = 50) -> list[str]:
        older, newer = commit_in_tag(old_version), commit_in_tag(new_version)
        if not older or not newer or not self.ancestry(older, newer):
            return []
        try:
            out = self.git(
                "log", "--no-merges", f"--max-count={limit}", "--format=%h %s", f"{older}..{newer}"
            )
        except ToolFailedError:
            return []
        return [line for line in out.splitlines() if line.strip()]


def version_of(image_text: str) -> str:
    image = parse_image(image_text, require_version=False)
    return image.version if image else ""
