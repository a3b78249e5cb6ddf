"""The GitHub transport (PyGithub) against the fake GitHub backed by a real bare repository.

Every fake answer is validated against GitHub's OpenAPI description or GraphQL schema; the
``fake_github`` fixture fails a test whose traffic left the official description.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shipline.bump.core import Backoff, Bump, Operation, fixed_message
from shipline.bump.editors import EditResult, Target
from shipline.bump.githubapi import (
    AppAuth,
    GitHubRefusedError,
    GitHubSettings,
    TokenAuth,
    bump_with_github,
)
from shipline.bump.imageref import require_image
from shipline.bump.messages import marker
from tests.fakes.github import FakeGitHub, Fault
from tests.support.config_repo import (
    changed_lines,
    config_repo,
    fake_github,
    git,
    read_file,
    rev,
    run_bump,
)

__all__ = ["config_repo", "fake_github"]  # fixtures, imported for pytest

STAGING = "apps/api/overlays/staging/kustomization.yaml"
BRANCH = "shipline/bump/api/staging"
IMAGE = "registry.acme.test/shop/api:{}"


class Sleeps:
    """Records the waits the backoff asks for instead of sleeping them (no timed assertions)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def settings(fake: FakeGitHub, sleeps: Sleeps | None = None, **overrides: object) -> GitHubSettings:
    values: dict[str, object] = {
        "repository": "acme/config",
        "auth": TokenAuth("test-token"),
        "branch": BRANCH,
        "api_url": fake.url,
        "timeout": 1.0,
        "backoff": Backoff(attempts=4, initial=0.01, maximum=0.05, sleep=sleeps or Sleeps()),
        "seconds_between_requests": 0,
        "seconds_between_writes": 0,
        "app": "api",
        "environment": "staging",
    } | overrides
    return GitHubSettings(**values)  # type: ignore[arg-type]


def bump(version: str) -> Bump:
    return Bump(STAGING, Target(require_image(IMAGE.format(version))))


def message(version: str) -> object:
    return fixed_message(f"Bump api in staging to {version}", f"body\n\n{marker('api', 'staging')}")


def writes(fake: FakeGitHub) -> list[tuple[str, str]]:
    return [(m, p) for m, p in fake.requests if m != "GET"]


def test_a_pull_request_is_created_with_labels_reviewers_and_auto_merge(
    fake_github: FakeGitHub, config_repo: Path
) -> None:
    before = read_file(config_repo, "main", STAGING)
    outcome = bump_with_github(
        settings(
            fake_github,
            labels=("deploy", "staging"),
            reviewers=("octocat",),
            team_reviewers=("platform",),
            auto_merge=True,
        ),
        bump("1.5.0"),
        message("1.5.0"),  # type: ignore[arg-type]
    )
    assert outcome.operation is Operation.CREATED
    assert (outcome.pr_number, outcome.pr_url) == (1, f"{fake_github.web}/acme/config/pull/1")
    assert outcome.commit_sha == rev(config_repo, BRANCH)
    assert outcome.api_calls == len(
        fake_github.requests
    )  # every request is counted, retries included
    pull = fake_github.pulls[1]
    assert (pull.head, pull.base, pull.title) == (BRANCH, "main", "Bump api in staging to 1.5.0")
    assert pull.labels == ["deploy", "staging"]
    assert (pull.reviewers, pull.team_reviewers) == (["octocat"], ["platform"])
    assert pull.auto_merge == "SQUASH"
    assert changed_lines(before, read_file(config_repo, BRANCH, STAGING)) == [
        (
            '    newTag: "1.4.2"    # quoted so 1.10 never becomes a float',
            '    newTag: "1.5.0"    # quoted so 1.10 never becomes a float',
        )
    ]
    # A clone sees one commit on top of the base carrying the title.
    assert (
        git("--git-dir", str(config_repo), "log", "--format=%s", f"main..{BRANCH}").strip()
        == "Bump api in staging to 1.5.0"
    )


def test_a_rerun_reads_only_and_a_newer_image_updates_the_same_pull_request(
    fake_github: FakeGitHub, config_repo: Path
) -> None:
    bump_with_github(settings(fake_github), bump("1.5.0"), message("1.5.0"))  # type: ignore[arg-type]
    first_head = rev(config_repo, BRANCH)
    fake_github.requests.clear()

    again = bump_with_github(settings(fake_github), bump("1.5.0"), message("1.5.0"))  # type: ignore[arg-type]
    assert again.operation is Operation.UNCHANGED
    assert (again.pr_number, again.commit_sha) == (1, first_head)
    assert writes(fake_github) == []
    assert again.api_calls == len(fake_github.requests) <= 6

    # The base moves on meanwhile (another app's change merged).
    newer = bump_with_github(settings(fake_github), bump("1.6.0"), message("1.6.0"))  # type: ignore[arg-type]
    assert newer.operation is Operation.UPDATED
    assert newer.pr_number == 1 and len(fake_github.pulls) == 1
    assert fake_github.pulls[1].title == "Bump api in staging to 1.6.0"
    assert (
        git("--git-dir", str(config_repo), "rev-list", "--count", f"main..{BRANCH}").strip() == "1"
    )
    assert 'newTag: "1.6.0"' in read_file(config_repo, BRANCH, STAGING)
    assert ("POST", "/graphql") in writes(fake_github)  # updateRefs: compare-and-swap on the branch


def test_an_older_image_than_the_open_pull_request_is_not_written(
    fake_github: FakeGitHub, config_repo: Path
) -> None:
    bump_with_github(settings(fake_github), bump("1.6.0"), message("1.6.0"))  # type: ignore[arg-type]
    fake_github.requests.clear()
    older = bump_with_github(settings(fake_github), bump("1.5.0"), message("1.5.0"))  # type: ignore[arg-type]
    assert older.operation is Operation.UNCHANGED and older.backwards
    assert writes(fake_github) == []
    assert 'newTag: "1.6.0"' in read_file(config_repo, BRANCH, STAGING)


def test_a_lost_answer_to_the_pull_request_is_retried_as_an_update(fake_github: FakeGitHub) -> None:
    # GitHub opens the PR but the answer never arrives; the retry hears "already exists".
    fake_github.inject(Fault("POST", r"/pulls$", status=0, delay=1.5, process=True))
    outcome = bump_with_github(settings(fake_github), bump("1.5.0"), message("1.5.0"))  # type: ignore[arg-type]
    assert outcome.operation is Operation.UPDATED
    assert outcome.pr_number == 1 and len(fake_github.pulls) == 1
    assert fake_github.count("POST", r"/pulls$") == 2


def test_already_mergeable_pull_requests_are_merged_directly_only_when_allowed(
    fake_github: FakeGitHub, config_repo: Path
) -> None:
    fake_github.mergeable_clean = True
    held = bump_with_github(settings(fake_github, auto_merge=True), bump("1.5.0"), message("1.5.0"))  # type: ignore[arg-type]
    assert "already mergeable" in held.notes[-1] and not fake_github.pulls[1].merged

    merged = bump_with_github(
        settings(fake_github, auto_merge=True, merge_when_ready=True),
        bump("1.6.0"),
        message("1.6.0"),  # type: ignore[arg-type]
    )
    assert merged.notes[-1] == "#1 was already mergeable and was merged (squash)"
    assert fake_github.pulls[1].merged
    assert 'newTag: "1.6.0"' in read_file(config_repo, "main", STAGING)


def test_superseded_pull_requests_of_the_same_app_and_environment_are_closed(
    fake_github: FakeGitHub, config_repo: Path
) -> None:
    old_branch = "bump/api-staging-old-scheme"
    git("--git-dir", str(config_repo), "branch", old_branch, "main")
    from tests.fakes.github.server import Pull

    fake_github.pulls[1] = Pull(
        1, old_branch, "main", "old bump", f"old\n{marker('api', 'staging')}"
    )
    fake_github.pulls[2] = Pull(2, old_branch, "main", "someone else's", "unrelated")
    outcome = bump_with_github(
        settings(fake_github, close_superseded=True), bump("1.5.0"), message("1.5.0")
    )  # type: ignore[arg-type]
    assert outcome.pr_number == 3
    assert fake_github.pulls[1].state == "closed" and fake_github.pulls[2].state == "open"
    assert "closed #1: superseded" in outcome.notes


def test_5xx_and_secondary_rate_limits_are_retried_honouring_retry_after(
    fake_github: FakeGitHub,
) -> None:
    sleeps = Sleeps()
    fake_github.inject(
        Fault("GET", r"/git/ref/heads/main$", status=502, times=2, message="Bad Gateway")
    )
    fake_github.inject(
        Fault(
            "POST",
            r"/git/trees$",
            status=403,
            headers={"Retry-After": "7"},
            message="You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        )
    )
    outcome = bump_with_github(settings(fake_github, sleeps), bump("1.5.0"), message("1.5.0"))  # type: ignore[arg-type]
    assert outcome.operation is Operation.CREATED
    assert fake_github.count("GET", r"/git/ref/heads/main$") == 3
    assert fake_github.count("POST", r"/git/trees$") == 2
    assert outcome.api_calls == len(fake_github.requests)
    assert len(sleeps.waits) == 3
    assert sleeps.waits[2] == 7.0  # as Retry-After said, though above the backoff's own cap
    assert all(wait <= 0.05 for wait in sleeps.waits[:2])


def test_a_request_that_times_out_is_retried(fake_github: FakeGitHub) -> None:
    fake_github.inject(Fault("GET", r"/contents/", status=0, delay=2.0))
    outcome = bump_with_github(settings(fake_github), bump("1.5.0"), message("1.5.0"))  # type: ignore[arg-type]
    assert outcome.operation is Operation.CREATED
    assert fake_github.count("GET", r"/contents/") == 2


@pytest.mark.parametrize(
    ("fault", "message_part"),
    [
        (
            Fault("GET", r"/git/ref/heads/main$", status=401, message="Bad credentials"),
            "401 Bad credentials",
        ),
        (Fault("GET", r"/git/ref/heads/main$", status=404, message="Not Found"), "404 Not Found"),
        (
            Fault(
                "GET",
                r"/git/ref/heads/main$",
                status=403,
                message="Resource not accessible by integration",
            ),
            "403 Resource not accessible",
        ),
    ],
)
def test_401_403_404_are_not_retried_and_say_why(
    fake_github: FakeGitHub, config_repo: Path, fault: Fault, message_part: str
) -> None:
    fake_github.inject(fault)
    with pytest.raises(GitHubRefusedError, match=message_part):
        bump_with_github(settings(fake_github), bump("1.5.0"), message("1.5.0"))  # type: ignore[arg-type]
    assert fake_github.count("GET", r"/git/ref/heads/main$") == 1
    assert writes(fake_github) == []
    assert "refs/heads/" + BRANCH not in git("--git-dir", str(config_repo), "for-each-ref")


def test_the_retry_budget_is_bounded(fake_github: FakeGitHub) -> None:
    fake_github.inject(Fault("GET", r"/git/ref/heads/main$", status=500, times=10))
    with pytest.raises(GitHubRefusedError, match=r"after 4 attempts: 500 .*\(5 API calls\)"):
        bump_with_github(settings(fake_github), bump("1.5.0"), message("1.5.0"))  # type: ignore[arg-type]
    assert fake_github.count("GET", r"/git/ref/heads/main$") == 4


def test_a_stale_ref_answer_restarts_on_the_fresh_base(
    fake_github: FakeGitHub, config_repo: Path
) -> None:
    fake_github.inject(Fault("POST", r"/git/refs$", status=422, message="Reference already exists"))
    outcome = bump_with_github(settings(fake_github), bump("1.5.0"), message("1.5.0"))  # type: ignore[arg-type]
    assert outcome.operation is Operation.CREATED and outcome.attempts == 2
    fake_github.inject(Fault("POST", r"/graphql$", status=409, message="Conflict"))
    newer = bump_with_github(settings(fake_github), bump("1.6.0"), message("1.6.0"))  # type: ignore[arg-type]
    assert newer.operation is Operation.UPDATED and newer.attempts == 2
    assert 'newTag: "1.6.0"' in read_file(config_repo, BRANCH, STAGING)


def _held(release: threading.Event, version: str) -> object:
    def describe(edit: EditResult) -> tuple[str, str]:
        assert release.wait(30)
        return f"Bump api in staging to {version}", marker("api", "staging")

    return describe


@pytest.mark.parametrize(("waiting", "racing"), [("1.7.0", "1.6.0"), ("1.6.0", "1.7.0")])
def test_concurrent_bumps_of_the_same_app_end_on_the_newer_image(
    fake_github: FakeGitHub, config_repo: Path, waiting: str, racing: str
) -> None:
    bump_with_github(settings(fake_github), bump("1.5.0"), message("1.5.0"))  # type: ignore[arg-type]
    release = threading.Event()
    results = {}
    thread = threading.Thread(
        target=lambda: results.setdefault(
            "waiting",
            bump_with_github(settings(fake_github), bump(waiting), _held(release, waiting)),
        )  # type: ignore[arg-type]
    )
    thread.start()
    results["racing"] = bump_with_github(settings(fake_github), bump(racing), message(racing))  # type: ignore[arg-type]
    release.set()
    thread.join(60)
    assert 'newTag: "1.7.0"' in read_file(config_repo, BRANCH, STAGING)
    assert len(fake_github.pulls) == 1
    assert fake_github.pulls[1].title == "Bump api in staging to 1.7.0"
    late = results["waiting"]
    assert late.attempts == 2  # updateRefs refused its stale beforeOid
    assert late.operation is (Operation.UPDATED if waiting == "1.7.0" else Operation.UNCHANGED)


def test_concurrent_bumps_of_two_apps_both_open_their_pull_requests(
    fake_github: FakeGitHub, config_repo: Path
) -> None:
    worker = Bump(
        "apps/api/overlays/production/kustomization.yaml",
        Target(require_image("ghcr.io/acme/worker:2.1.0")),
    )
    results = {}
    threads = [
        threading.Thread(
            target=lambda: results.setdefault(
                "api", bump_with_github(settings(fake_github), bump("1.5.0"), message("1.5.0"))
            )
        ),  # type: ignore[arg-type]
        threading.Thread(
            target=lambda: results.setdefault(
                "worker",
                bump_with_github(
                    settings(
                        fake_github,
                        branch="shipline/bump/worker/production",
                        app="worker",
                        environment="production",
                    ),
                    worker,
                    fixed_message("Bump worker"),
                ),
            )
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert {o.operation for o in results.values()} == {Operation.CREATED}
    assert sorted(p.head for p in fake_github.pulls.values()) == [
        BRANCH,
        "shipline/bump/worker/production",
    ]
    assert "newTag: '2.1.0'" in read_file(
        config_repo,
        "shipline/bump/worker/production",
        "apps/api/overlays/production/kustomization.yaml",
    )


def test_github_app_authentication_gets_an_installation_token(fake_github: FakeGitHub) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    fake_github.app_public_key = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    masked: list[str] = []
    outcome = bump_with_github(
        settings(fake_github, auth=AppAuth(fake_github.app_id, pem)),
        bump("1.5.0"),
        message("1.5.0"),
        mask=masked.append,  # type: ignore[arg-type]
    )
    assert outcome.operation is Operation.CREATED
    assert fake_github.count("GET", r"/repos/acme/config/installation$") == 1
    assert (
        fake_github.count(
            "POST", rf"/app/installations/{fake_github.installation_id}/access_tokens$"
        )
        == 1
    )
    assert masked and masked[0].startswith("ghs_fake") and masked[0] in fake_github.tokens
    with pytest.raises(GitHubRefusedError, match="401"):
        bump_with_github(
            settings(fake_github, auth=AppAuth("999", pem)), bump("1.6.0"), message("1.6.0")
        )  # type: ignore[arg-type]


def test_the_cli_opens_the_pull_request_and_reports_outputs(
    fake_github: FakeGitHub, tmp_path: Path
) -> None:
    inputs = {
        "image": IMAGE.format("1.5.0"),
        "file": STAGING,
        "repository": "acme/config",
        "token": "test-token",
        "api_url": fake_github.url,
        "environment": "staging",
        "labels": "deploy",
        "commit": "0123456789abcdef",
    }
    env = {
        "GITHUB_RUN_ID": "42",
        "GITHUB_REPOSITORY": "acme/api",
        "GITHUB_SERVER_URL": "https://github.example",
    }
    code, commands, outputs, summary, log = run_bump(tmp_path / "ws", env, **inputs)
    assert code == 0, log
    assert ("add-mask", {}, "test-token") in commands
    assert outputs["operation"] == "created"
    assert outputs["pr-number"] == "1"
    assert outputs["pr-url"] == f"{fake_github.web}/acme/config/pull/1"
    assert outputs["api-calls"] == str(len(fake_github.requests))
    assert f"| GitHub API calls | {len(fake_github.requests)} |" in summary
    assert "test-token" not in summary + log.replace("::add-mask::test-token", "")
    body = fake_github.pulls[1].body
    assert "https://github.example/acme/api/actions/runs/42" in body and "0123456789abcdef" in body
    assert re.search(r"line 14 `images\[name=api\]\.newTag`: `1\.4\.2` → `1\.5\.0`", body)


def test_a_refused_auto_merge_leaves_the_pull_request_and_warns(fake_github: FakeGitHub) -> None:
    fake_github.auto_merge_allowed = False
    outcome = bump_with_github(
        settings(fake_github, auto_merge=True), bump("1.5.0"), message("1.5.0")
    )  # type: ignore[arg-type]
    assert outcome.operation is Operation.CREATED and fake_github.pulls[1].state == "open"
    assert len(outcome.warnings) == 1
    assert "Auto merge is not allowed for this repository" in outcome.warnings[0]


def test_an_open_bump_left_behind_by_the_base_is_closed(
    fake_github: FakeGitHub, config_repo: Path
) -> None:
    bump_with_github(settings(fake_github), bump("1.5.0"), message("1.5.0"))  # type: ignore[arg-type]
    # Someone pins 1.6.0 on main by hand; the open PR (1.5.0) would now move staging back.
    direct = bump_with_git_main(config_repo, "1.6.0")
    assert direct
    outcome = bump_with_github(
        settings(fake_github, close_superseded=True), bump("1.6.0"), message("1.6.0")
    )  # type: ignore[arg-type]
    assert outcome.operation is Operation.UNCHANGED and outcome.pr_number is None
    assert fake_github.pulls[1].state == "closed"
    assert "closed #1: main is already ahead" in outcome.notes


def bump_with_git_main(config_repo: Path, version: str) -> str:
    from shipline.bump.gitremote import GitSettings, bump_with_git

    done = bump_with_git(GitSettings(str(config_repo)), bump(version), fixed_message("by hand"))
    return done.commit_sha
