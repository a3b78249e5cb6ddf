"""Reads and checks every input, runs the chosen transport, reports outputs and a summary."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from shipline.bump.core import Backoff, Bump, Describe, Outcome, SourceHistory, repo_relative
from shipline.bump.editors import Format, Target, ValueKind
from shipline.bump.imageref import require_image
from shipline.bump.messages import (
    DEFAULT_BODY,
    DEFAULT_TITLE,
    Templates,
    branch_name,
    describer,
)
from shipline.context import ActionContext
from shipline.gha.inputs import InputError
from shipline.gha.summary import Summary, code_span, inline


class Transport(StrEnum):
    GITHUB = "github"
    GIT = "git"


class MergeMethod(StrEnum):
    MERGE = "merge"
    SQUASH = "squash"
    REBASE = "rebase"


@dataclass(frozen=True)
class BumpPlan:
    bump: Bump
    transport: Transport
    repository: str
    base: str
    branch: str
    app: str
    environment: str
    templates: Templates
    history: SourceHistory | None
    backoff: Backoff
    timeout: float
    github: dict[str, Any]  # GitHubSettings fields that only the github transport reads


def plan(context: ActionContext) -> BumpPlan:
    """Every input parsed and checked before anything is read or written."""
    inputs = context.inputs
    image = require_image(inputs.raw("image"))
    file = repo_relative(inputs.raw("file"))
    transport = inputs.choice("transport", Transport)
    repository = inputs.raw("repository")
    if transport is Transport.GITHUB and (
        repository.count("/") != 1 or not all(repository.split("/"))
    ):
        raise InputError("repository", repository, "owner/name for the github transport")
    target = Target(
        image=image,
        format=inputs.choice("format", Format),
        match=inputs.raw("match"),
        yaml_path=inputs.raw("yaml-path"),
        digest_path=inputs.raw("digest-path"),
        container=inputs.raw("container"),
        value=inputs.choice("value", ValueKind),
    )
    if target.format is Format.YAML_PATH and not target.yaml_path:
        raise InputError("yaml-path", "", "a YAML path such as image.tag for format yaml-path")
    app = inputs.raw("app") or image.repository
    environment = inputs.raw("environment")
    templates = Templates(
        branch=inputs.raw("branch"),
        title=inputs.raw("title") or DEFAULT_TITLE,
        body=inputs.raw("body") or DEFAULT_BODY,
    )
    templates.check()
    branch = branch_name(templates.branch, app, environment)
    source = inputs.path("source-repo")
    history = SourceHistory(source) if (source / ".git").exists() else None
    allow_downgrade = inputs.boolean("allow-downgrade")
    attempts = inputs.integer("max-attempts", minimum=1, maximum=20)
    timeout = inputs.duration("timeout")
    backoff = Backoff(attempts=attempts)
    bump = Bump(file, target, allow_downgrade, history.ancestry if history else None)
    github = _github_inputs(context) if transport is Transport.GITHUB else {}
    direct = inputs.boolean("direct-push")
    if direct and transport is Transport.GITHUB:
        raise InputError(
            "direct-push", "true", "false with the github transport (it opens a pull request)"
        )
    base = inputs.raw("base") or ("main" if transport is Transport.GIT else "")
    password = urlsplit(repository).password if "://" in repository else None
    if password:
        context.console.mask(password)
    return BumpPlan(
        bump,
        transport,
        repository,
        base,
        "" if direct else branch,
        app,
        environment,
        templates,
        history,
        backoff,
        timeout,
        github,
    )


def _github_inputs(context: ActionContext) -> dict[str, Any]:
    from shipline.bump.githubapi import AppAuth, TokenAuth

    inputs = context.inputs
    token = inputs.raw("token")
    app_id = inputs.raw("app-id")
    key = inputs.raw("app-private-key")
    auth: TokenAuth | AppAuth
    if app_id or key:
        if not (app_id.isdigit() and "PRIVATE KEY" in key):
            raise InputError(
                "app-id", app_id, "a numeric GitHub App id together with app-private-key (PEM)"
            )
        installation = inputs.raw("app-installation-id")
        installation_id = inputs.integer("app-installation-id", minimum=1) if installation else None
        context.console.mask(key)
        auth = AppAuth(app_id, key, installation_id)
    elif token:
        context.console.mask(token)
        auth = TokenAuth(token)
    else:
        raise InputError(
            "token", "", "a token, or app-id with app-private-key, for the github transport"
        )
    api_url = (
        inputs.raw("api-url") or context.environ.get("GITHUB_API_URL") or "https://api.github.com"
    ).rstrip("/")
    if not api_url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise InputError("api-url", api_url, "an https:// URL")
    return {
        "auth": auth,
        "api_url": api_url,
        "labels": tuple(inputs.items("labels")),
        "reviewers": tuple(inputs.items("reviewers")),
        "team_reviewers": tuple(inputs.items("team-reviewers")),
        "auto_merge": inputs.boolean("auto-merge"),
        "merge_method": inputs.choice("merge-method", MergeMethod).value,
        "merge_when_ready": inputs.boolean("merge-when-ready"),
        "close_superseded": inputs.boolean("close-superseded"),
    }


def run(context: ActionContext) -> int:
    bump_plan = plan(context)
    env = context.environ
    commit = context.inputs.raw("commit") or env.get("GITHUB_SHA", "")
    run_url = ""
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        run_url = f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    describe = describer(
        bump_plan.templates,
        app=bump_plan.app,
        environment=bump_plan.environment,
        file=bump_plan.bump.file,
        image=bump_plan.bump.target.image,
        commit=commit,
        run_url=run_url,
        history=bump_plan.history,
    )
    outcome = _run_transport(context, bump_plan, describe)
    files = context.files
    files.set_output("operation", outcome.operation.value)
    files.set_output("pr-number", outcome.pr_number or "")
    files.set_output("pr-url", outcome.pr_url)
    files.set_output("commit-sha", outcome.commit_sha)
    files.set_output("branch", outcome.branch)
    files.set_output("old-image", outcome.old_image)
    files.set_output("new-image", outcome.new_image)
    files.set_output("api-calls", outcome.api_calls)
    for note in outcome.notes:
        context.console.info(note)
    for warning in outcome.warnings:
        context.console.warning(warning, title="bump-config-repo")
    if outcome.backwards:
        context.console.warning(
            f"not bumped, it would move {bump_plan.environment} backwards: {'; '.join(outcome.notes)} "
            "(set allow-downgrade to force it)",
            title="bump-config-repo",
        )
    context.write_summary(_summary(bump_plan, outcome))
    return 0


def _run_transport(context: ActionContext, bump_plan: BumpPlan, describe: Describe) -> Outcome:
    bump = bump_plan.bump
    backoff, timeout = bump_plan.backoff, bump_plan.timeout
    if bump_plan.transport is Transport.GIT:
        from shipline.bump.gitremote import GitSettings, bump_with_git

        settings = GitSettings(
            bump_plan.repository, bump_plan.base, bump_plan.branch, timeout=timeout, backoff=backoff
        )
        return bump_with_git(settings, bump, describe)
    from shipline.bump.githubapi import GitHubSettings, bump_with_github

    github = GitHubSettings(
        repository=bump_plan.repository,
        branch=bump_plan.branch,
        base=bump_plan.base,
        timeout=timeout,
        backoff=backoff,
        app=bump_plan.app,
        environment=bump_plan.environment,
        **bump_plan.github,
    )
    return bump_with_github(github, bump, describe, mask=context.console.mask)


def _summary(bump_plan: BumpPlan, outcome: Outcome) -> Summary:
    icon = {"created": "🆕", "updated": "🔁", "unchanged": "✅"}[outcome.operation.value]
    where = (
        f"[#{outcome.pr_number}]({outcome.pr_url})" if outcome.pr_url else code_span(outcome.branch)
    )
    summary = Summary().heading(
        f"{icon} Bump {code_span(bump_plan.app)} in {code_span(bump_plan.environment)}: "
        f"{outcome.operation.value}"
    )
    summary.paragraph(f"Pull request / branch: {where}")
    rows: list[list[object]] = [
        ["file", bump_plan.bump.file],
        ["from", outcome.old_image],
        ["to", outcome.new_image],
        ["commit", outcome.commit_sha],
        ["attempts", outcome.attempts],
    ]
    if bump_plan.transport is Transport.GITHUB:
        rows.append(["GitHub API calls", outcome.api_calls])
    summary.table(["", ""], rows)
    if outcome.changes:
        summary.table(
            ["line", "field", "old", "new"],
            [[c.line, c.field, c.old, c.new] for c in outcome.changes],
        )
    if outcome.notes or outcome.warnings:
        summary.bullets(
            [*map(inline, outcome.notes), *(f"⚠️ {inline(w)}" for w in outcome.warnings)]
        )
    return summary
