"""The GitHub transport: the one-line commit through the Git Data API, then the pull request.

One commit on the current base, always: the bump branch is (re)pointed at it. A new branch
is created with ``POST git/refs`` (refused if it appeared meanwhile); an existing one is
moved with the GraphQL ``updateRefs`` mutation naming the commit it replaces
(``beforeOid``), GitHub's compare-and-swap for refs. A lost race re-reads the fresh base and
decides again, so no update is lost and an older image never replaces a newer one.

Every request goes through :class:`Api`, which counts it and retries what can heal: 5xx,
timeouts, and rate limits (waiting as ``Retry-After`` or the reset time says). 401, 403
and 404 end the run with GitHub's own message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests
from github import Auth, Github, GithubException, GithubIntegration, InputGitTreeElement
from github.PullRequest import PullRequest
from github.Repository import Repository

from shipline.bump.core import (
    Backoff,
    Bump,
    Describe,
    Operation,
    Outcome,
    already_settled,
    repo_relative,
)
from shipline.bump.editors import Change
from shipline.bump.messages import marker
from shipline.errors import ShiplineError, UsageError

T = TypeVar("T")
MAX_RATE_LIMIT_WAIT = 120.0
_ALREADY_MERGEABLE = ("clean status", "already mergeable", "is in clean status")


class ConflictError(ShiplineError):
    """409/422 from GitHub: a stale SHA, an existing ref or PR; the caller decides."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class GitHubRefusedError(ShiplineError):
    """401/403/404 or a retry budget spent: the run ends with GitHub's reason."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status  # 0 when GitHub never answered


@dataclass(frozen=True)
class TokenAuth:
    token: str


@dataclass(frozen=True)
class AppAuth:
    app_id: str
    private_key: str
    installation_id: int | None = None


@dataclass(frozen=True)
class GitHubSettings:
    repository: str  # owner/name
    auth: TokenAuth | AppAuth
    branch: str
    api_url: str = "https://api.github.com"
    base: str = ""  # empty: the repository's default branch
    labels: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    team_reviewers: tuple[str, ...] = ()
    auto_merge: bool = False
    merge_method: str = "squash"
    merge_when_ready: bool = False
    close_superseded: bool = False
    app: str = ""
    environment: str = ""
    timeout: float = 30.0
    backoff: Backoff = field(default_factory=Backoff)
    # PyGithub's own pacing between requests; tests set both to 0.
    seconds_between_requests: float | None = 0.25
    seconds_between_writes: float | None = 1.0


class Api:
    """Runs one HTTP request per call, counting it, retrying only what can heal."""

    def __init__(self, backoff: Backoff) -> None:
        self.backoff = backoff
        self.calls = 0

    def call(self, what: str, request: Callable[[], T]) -> T:
        attempts = self.backoff.attempts
        for attempt in range(1, attempts + 1):
            self.calls += 1
            try:
                return request()
            except GithubException as error:
                wait = self._retry_wait(error)
                status, message = error.status, _message(error)
                if wait is None:
                    if status in (409, 422):
                        raise ConflictError(f"{what}: {status} {message}", status) from None
                    raise GitHubRefusedError(
                        f"GitHub refused to {what}: {status} {message}", status
                    ) from None
                if attempt == attempts:
                    raise GitHubRefusedError(
                        f"GitHub could not {what} after {attempts} attempts: {status} {message}",
                        status,
                    ) from None
                self.backoff.wait(attempt, at_least=wait)
            except (requests.Timeout, requests.ConnectionError) as error:
                if attempt == attempts:
                    raise GitHubRefusedError(
                        f"GitHub did not answer to {what} after {attempts} attempts: {type(error).__name__}"
                    ) from None
                self.backoff.wait(attempt)
        raise AssertionError("unreachable")

    def optional(self, what: str, request: Callable[[], T]) -> T | None:
        """A lookup whose 404 means 'not there' rather than an error."""
        try:
            return self.call(what, request)
        except GitHubRefusedError as error:
            if error.status == 404:
                return None
            raise

    @staticmethod
    def _retry_wait(error: GithubException) -> float | None:
        """Seconds to wait before retrying, or None when retrying cannot help."""
        status = error.status
        headers = {k.lower(): v for k, v in (error.headers or {}).items()}
        if status >= 500:
            return 0.0
        limited = status == 429 or (
            status == 403
            and (
                "retry-after" in headers
                or headers.get("x-ratelimit-remaining") == "0"
                or "rate limit" in _message(error).lower()
            )
        )
        if not limited:
            return None
        if "retry-after" in headers:
            wait = float(headers["retry-after"])
        elif "x-ratelimit-reset" in headers:
            wait = float(headers["x-ratelimit-reset"]) - time.time()
        else:
            wait = 60.0  # GitHub's advice for a secondary limit without a header
        return max(0.0, wait) if wait <= MAX_RATE_LIMIT_WAIT else None


def _message(error: GithubException) -> str:
    data = error.data
    if isinstance(data, dict):
        text = str(data.get("message") or "")
        details = data.get("errors")
        if isinstance(details, list) and details:
            text += (
                " ("
                + "; ".join(
                    str(d.get("message", d)) if isinstance(d, dict) else str(d) for d in details
                )
                + ")"
            )
        return text
    return str(data)


def installation_token(settings: GitHubSettings, auth: AppAuth, api: Api) -> str:
    """App id + private key -> a JWT -> the installation's token, so the PR runs the checks."""
    integration = GithubIntegration(
        auth=Auth.AppAuth(auth.app_id, auth.private_key),
        base_url=settings.api_url,
        timeout=int(settings.timeout),
        retry=None,
        seconds_between_requests=settings.seconds_between_requests,
        seconds_between_writes=settings.seconds_between_writes,
    )
    owner, name = settings.repository.split("/", 1)
    installation_id = auth.installation_id
    if installation_id is None:
        installation = api.call(
            "find the app's installation", lambda: integration.get_repo_installation(owner, name)
        )
        installation_id = installation.id
    token = api.call(
        "get an installation token", lambda: integration.get_access_token(installation_id)
    )
    return token.token


def bump_with_github(
    settings: GitHubSettings,
    bump: Bump,
    describe: Describe,
    mask: Callable[[str], None] = lambda _secret: None,
) -> Outcome:
    """Make the one-line change as a pull request; see the module docstring."""
    api = Api(settings.backoff)
    try:
        outcome = _bump(settings, bump, describe, api, mask)
    except ShiplineError as error:
        error.args = (f"{error} ({api.calls} API calls)",)
        raise
    outcome.api_calls = api.calls
    return outcome


def _client(settings: GitHubSettings, api: Api, mask: Callable[[str], None]) -> Github:
    if isinstance(settings.auth, AppAuth):
        token = installation_token(settings, settings.auth, api)
        mask(token)
    else:
        token = settings.auth.token
    return Github(
        auth=Auth.Token(token),
        base_url=settings.api_url,
        timeout=int(settings.timeout),
        retry=None,  # Api owns retries, so every request is counted and bounded once
        lazy=True,
        seconds_between_requests=settings.seconds_between_requests,
        seconds_between_writes=settings.seconds_between_writes,
    )


def _bump(
    settings: GitHubSettings,
    bump: Bump,
    describe: Describe,
    api: Api,
    mask: Callable[[str], None],
) -> Outcome:
    file = repo_relative(bump.file)
    gh = _client(settings, api, mask)
    repo = gh.get_repo(settings.repository)
    base = settings.base or api.call("read the repository", lambda: repo.default_branch)
    owner = settings.repository.split("/", 1)[0]
    new_image = str(bump.target.image)
    attempts = settings.backoff.attempts
    for attempt in range(1, attempts + 1):
        base_sha = api.call(
            f"read branch {base}", lambda: repo.get_git_ref(f"heads/{base}").object.sha
        )
        text = _read(api, repo, file, base_sha, f"{base} of {settings.repository}")
        decision = bump.decide(text)
        branch_sha = (
            api.optional(
                f"read branch {settings.branch}",
                lambda: repo.get_git_ref(f"heads/{settings.branch}").object.sha,
            )
            or ""
        )
        pull = _open_pull(api, repo, owner, settings.branch, base) if branch_sha else None
        on_branch = (
            bump.decide(_read(api, repo, file, branch_sha, f"branch {settings.branch}"))
            if branch_sha
            else None
        )
        settled = already_settled(decision, on_branch, settings.branch)
        if settled is not None:
            sha = branch_sha if settled.on_branch else base_sha
            if settled.on_branch and pull is None and decision.writes:
                # The branch is right but its PR is missing (closed, or a run died between
                # the push and the PR): open it, never leave a branch without its PR.
                title, body = describe(decision.edit)
                pull, operation = _publish(api, repo, settings, base, title, body, None)
                return _finish(
                    api,
                    settings,
                    repo,
                    pull,
                    operation,
                    sha,
                    settled.edit.old_image,
                    new_image,
                    [],
                    attempt,
                    [settled.reason],
                )
            notes = [settled.reason]
            if pull is not None and not settled.on_branch and settings.close_superseded:
                # The base already pins this image or a newer one: merging the open bump PR
                # would now move the environment backwards.
                notes.append(_close(api, pull, f"{base} is already ahead"))
                pull = None
            return _outcome(
                Operation.UNCHANGED,
                sha,
                settled.edit.old_image,
                new_image,
                settings.branch,
                pull,
                attempt,
                notes,
                backwards=settled.backwards,
            )
        title, body = describe(decision.edit)
        commit_sha = _commit(api, repo, base_sha, file, decision.edit.text, title, body)
        try:
            _point_branch(api, gh, repo, settings.branch, branch_sha, commit_sha)
        except ConflictError:
            if attempt == attempts:
                raise
            settings.backoff.wait(attempt)
            continue
        pull, operation = _publish(api, repo, settings, base, title, body, pull)
        return _finish(
            api,
            settings,
            repo,
            pull,
            operation,
            commit_sha,
            decision.edit.old_image,
            new_image,
            decision.edit.changes,
            attempt,
            [decision.reason],
        )
    raise AssertionError("unreachable")


def _read(api: Api, repo: Repository, file: str, ref: str, where: str) -> str:
    content = api.optional(f"read {file} on {where}", lambda: repo.get_contents(file, ref=ref))
    if content is None or isinstance(content, list):
        raise UsageError(f"input 'file' got '{file}': no such file on {where}")
    return content.decoded_content.decode("utf-8")


def _open_pull(
    api: Api, repo: Repository, owner: str, branch: str, base: str
) -> PullRequest | None:
    pulls = api.call(
        f"list pull requests from {branch}",
        lambda: list(repo.get_pulls(state="open", head=f"{owner}:{branch}", base=base).get_page(0)),
    )
    return pulls[0] if pulls else None


def _commit(
    api: Api, repo: Repository, base_sha: str, file: str, text: str, title: str, body: str
) -> str:
    base_commit = api.call("read the base commit", lambda: repo.get_git_commit(base_sha))
    base_tree = base_commit.tree
    element = InputGitTreeElement(file, "100644", "blob", content=text)
    tree = api.call("write the tree", lambda: repo.create_git_tree([element], base_tree))
    commit = api.call(
        "write the commit",
        lambda: repo.create_git_commit(f"{title}\n\n{body}", tree, [base_commit]),
    )
    return commit.sha


def _point_branch(
    api: Api, gh: Github, repo: Repository, branch: str, expected: str, commit: str
) -> None:
    if not expected:
        api.call(
            f"create branch {branch}", lambda: repo.create_git_ref(f"refs/heads/{branch}", commit)
        )
        return
    node_id = api.call("read the repository", lambda: repo.node_id)
    query = "mutation($input: UpdateRefsInput!) { updateRefs(input: $input) { clientMutationId } }"
    variables: dict[str, Any] = {
        "input": {
            "repositoryId": node_id,
            "refUpdates": [
                {
                    "name": f"refs/heads/{branch}",
                    "beforeOid": expected,
                    "afterOid": commit,
                    "force": True,
                }
            ],
        }
    }
    try:
        api.call(f"move branch {branch}", lambda: gh.requester.graphql_query(query, variables))
    except GitHubRefusedError as error:
        # GraphQL reports a refused update as an error in a 200 answer (PyGithub: 400); the
        # usual cause is a beforeOid gone stale, so the caller re-reads and decides again.
        if error.status == 400:
            raise ConflictError(str(error), 409) from None
        raise


def _publish(
    api: Api,
    repo: Repository,
    settings: GitHubSettings,
    base: str,
    title: str,
    body: str,
    pull: PullRequest | None,
) -> tuple[PullRequest, Operation]:
    if pull is not None:
        current = pull
        api.call(
            f"update pull request #{pull.number}", lambda: current.edit(title=title, body=body)
        )
        return pull, Operation.UPDATED
    try:
        created = api.call(
            "open the pull request",
            lambda: repo.create_pull(
                base=base, head=settings.branch, title=title, body=body, maintainer_can_modify=True
            ),
        )
    except ConflictError as error:
        if "already exists" not in str(error):
            raise
        owner = settings.repository.split("/", 1)[0]
        existing = _open_pull(api, repo, owner, settings.branch, base)
        if existing is None:
            raise
        return _publish(api, repo, settings, base, title, body, existing)
    if settings.labels:
        # The documented body is {"labels": [...]}; PyGithub's add_to_labels sends a bare list,
        # which GitHub tolerates but its API description does not include.
        labels = {"labels": list(settings.labels)}
        api.call(
            "label the pull request",
            lambda: created.requester.requestJsonAndCheck(
                "POST", f"{created.issue_url}/labels", input=labels
            ),
        )
    if settings.reviewers or settings.team_reviewers:
        api.call(
            "request reviewers",
            lambda: created.create_review_request(
                reviewers=list(settings.reviewers), team_reviewers=list(settings.team_reviewers)
            ),
        )
    return created, Operation.CREATED


def _finish(
    api: Api,
    settings: GitHubSettings,
    repo: Repository,
    pull: PullRequest,
    operation: Operation,
    commit_sha: str,
    old_image: str,
    new_image: str,
    changes: list[Change],
    attempt: int,
    notes: list[str],
) -> Outcome:
    warnings: list[str] = []
    if settings.auto_merge:
        notes.append(_auto_merge(api, settings, pull, commit_sha, warnings))
    if settings.close_superseded:
        notes.extend(_close_superseded(api, repo, settings, pull))
    outcome = _outcome(
        operation, commit_sha, old_image, new_image, settings.branch, pull, attempt, notes
    )
    outcome.changes = changes
    outcome.warnings = warnings
    return outcome


def _auto_merge(
    api: Api,
    settings: GitHubSettings,
    pull: PullRequest,
    commit_sha: str,
    warnings: list[str],
) -> str:
    query = (
        "mutation($input: EnablePullRequestAutoMergeInput!) { enablePullRequestAutoMerge(input: $input) "
        "{ pullRequest { number autoMergeRequest { mergeMethod } } } }"
    )
    variables = {
        "input": {
            "pullRequestId": pull.node_id,
            "mergeMethod": settings.merge_method.upper(),
            "expectedHeadOid": commit_sha,
        }
    }
    gh_requester = pull.requester
    try:
        api.call("enable auto-merge", lambda: gh_requester.graphql_query(query, variables))
        return f"auto-merge ({settings.merge_method}) enabled on #{pull.number}"
    except GitHubRefusedError as error:
        if error.status != 400:
            raise
        if not any(phrase in str(error) for phrase in _ALREADY_MERGEABLE):
            # The PR stands; only the merge automation is refused (repository setting, rights).
            warnings.append(f"auto-merge was refused on #{pull.number}: {error}")
            return f"auto-merge not enabled on #{pull.number}"
    if not settings.merge_when_ready:
        return (
            f"#{pull.number} is already mergeable; auto-merge not needed, direct merge not allowed"
        )
    api.call(
        f"merge pull request #{pull.number}",
        lambda: pull.merge(merge_method=settings.merge_method, sha=commit_sha),
    )
    return f"#{pull.number} was already mergeable and was merged ({settings.merge_method})"


def _close_superseded(
    api: Api, repo: Repository, settings: GitHubSettings, keep: PullRequest
) -> list[str]:
    tag = marker(settings.app, settings.environment)
    pulls = api.call(
        "list open pull requests", lambda: list(repo.get_pulls(state="open").get_page(0))
    )
    notes = []
    for other in pulls:
        if other.number != keep.number and tag in (other.body or ""):
            notes.append(_close(api, other, "superseded"))
    return notes


def _close(api: Api, pull: PullRequest, why: str) -> str:
    api.call(f"close #{pull.number}", lambda: pull.edit(state="closed"))
    return f"closed #{pull.number}: {why}"


def _outcome(
    operation: Operation,
    sha: str,
    old_image: str,
    new_image: str,
    branch: str,
    pull: PullRequest | None,
    attempt: int,
    notes: list[str],
    *,
    backwards: bool = False,
) -> Outcome:
    return Outcome(
        operation,
        sha,
        old_image,
        new_image,
        branch,
        pr_number=pull.number if pull else None,
        pr_url=pull.html_url if pull else "",
        attempts=attempt,
        notes=notes,
        backwards=backwards,
    )
