"""The plain-git transport: clone, edit one file, commit, push; any remote git can reach.

Race safety comes from git itself: a bump branch is pushed with ``--force-with-lease``
naming the exact commit it replaces (or that it must not exist yet), and a direct push to
the base branch is an ordinary fast-forward. A rejected push means someone else wrote
first: the loop fetches the fresh base and decides again, so no update is lost and an
older image never overwrites a newer one.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from shipline.bump.core import (
    Backoff,
    Bump,
    Describe,
    Git,
    Operation,
    Outcome,
    already_settled,
    repo_relative,
)
from shipline.errors import ToolFailedError, UsageError


@dataclass(frozen=True)
class GitSettings:
    """Where to push: ``remote`` is any URL or path git accepts; ``branch`` empty pushes to base."""

    remote: str
    base: str = "main"
    branch: str = ""
    author_name: str = "shipline"
    author_email: str = "shipline@users.noreply.github.com"
    timeout: float = 120.0
    backoff: Backoff = field(default_factory=Backoff)


def bump_with_git(
    settings: GitSettings, bump: Bump, describe: Describe, workdir: Path | None = None
) -> Outcome:
    """Make the one-line change on ``settings.remote``; see the module docstring.

    ``describe`` gives the commit message (title, body) for the edit about to be committed. ``workdir`` holds the clone (a
    temporary directory when None) and is left for inspection only when given.
    """
    file = repo_relative(bump.file)
    if workdir is not None:
        return _bump_in(workdir, settings, bump, file, describe)
    with tempfile.TemporaryDirectory(prefix="shipline-bump-") as temp:
        return _bump_in(Path(temp), settings, bump, file, describe)


def _bump_in(
    root: Path, settings: GitSettings, bump: Bump, file: str, describe: Describe
) -> Outcome:
    clone = root / "config"
    git = Git(root, settings.timeout)
    git(
        "clone",
        "--quiet",
        "--no-tags",
        "--single-branch",
        "--branch",
        settings.base,
        settings.remote,
        str(clone),
    )
    git = Git(clone, settings.timeout)
    new_image = str(bump.target.image)
    attempts = settings.backoff.attempts
    for attempt in range(1, attempts + 1):
        if attempt > 1:
            settings.backoff.wait(attempt - 1)
            git(
                "fetch",
                "--quiet",
                "origin",
                f"+refs/heads/{settings.base}:refs/remotes/origin/{settings.base}",
            )
        base_sha = git("rev-parse", f"refs/remotes/origin/{settings.base}").strip()
        text = _read(git, base_sha, file, f"{settings.base} of {shown(settings.remote)}")
        decision = bump.decide(text)
        branch_sha = _remote_branch(git, settings.branch) if settings.branch else ""
        on_branch = None
        if branch_sha:
            git("fetch", "--quiet", "origin", branch_sha)
            on_branch = bump.decide(_read(git, branch_sha, file, f"branch {settings.branch}"))
        settled = already_settled(decision, on_branch, settings.branch)
        if settled is not None:
            return Outcome(
                Operation.UNCHANGED,
                branch_sha if settled.on_branch else base_sha,
                settled.edit.old_image,
                new_image,
                settings.branch or settings.base,
                attempts=attempt,
                notes=[settled.reason],
                backwards=settled.backwards,
            )
        git("checkout", "--quiet", "--force", "-B", "shipline-bump", base_sha)
        target = (clone / file).resolve()
        if not target.is_relative_to(clone.resolve()):
            raise UsageError(f"input 'file' got '{file}': it leads outside the config repository")
        target.write_text(decision.edit.text, encoding="utf-8")
        git("add", "--", file)
        title, body = describe(decision.edit)
        git(
            "-c",
            f"user.name={settings.author_name}",
            "-c",
            f"user.email={settings.author_email}",
            "commit",
            "--quiet",
            "--no-verify",
            "-m",
            title,
            "-m",
            body,
        )
        commit = git("rev-parse", "HEAD").strip()
        if settings.branch:
            lease = f"--force-with-lease=refs/heads/{settings.branch}:{branch_sha}"
            destination = f"HEAD:refs/heads/{settings.branch}"
            push = ["push", "--porcelain", lease, "origin", destination]
        else:
            push = ["push", "--porcelain", "origin", f"HEAD:refs/heads/{settings.base}"]
        pushed = git.run(*push, ok_codes=(0, 1))
        if pushed.returncode != 0:
            # --porcelain marks each refused ref with "!"; anything else is a real failure.
            refused = any(line.startswith("!") for line in pushed.stdout.splitlines())
            if refused and attempt < attempts:
                continue
            raise ToolFailedError(
                f"git push to {shown(settings.remote)} failed after {attempt} attempt(s): {pushed.tail()}"
            )
        operation = Operation.UPDATED if branch_sha else Operation.CREATED
        return Outcome(
            operation,
            commit,
            decision.edit.old_image,
            new_image,
            settings.branch or settings.base,
            decision.edit.changes,
            attempts=attempt,
            notes=[decision.reason],
        )
    raise ToolFailedError(
        f"git push to {shown(settings.remote)} kept being rejected after {attempts} attempts"
    )


def shown(remote: str) -> str:
    """The remote without credentials, for messages."""
    if "://" not in remote:
        return remote
    parts = urlsplit(remote)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def _remote_branch(git: Git, branch: str) -> str:
    out = git("ls-remote", "origin", f"refs/heads/{branch}")
    return out.split()[0] if out.strip() else ""


def _read(git: Git, commit: str, file: str, where: str) -> str:
    kind = git("cat-file", "-t", f"{commit}:{file}", ok_codes=(0, 128)).strip()
    if kind != "blob":
        raise UsageError(f"input 'file' got '{file}': no such file on {where}")
    data = git("cat-file", "blob", f"{commit}:{file}")
    return data
