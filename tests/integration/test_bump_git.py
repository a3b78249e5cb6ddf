"""The git transport against a real bare repository, through the Python API and the CLI."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest

from shipline.bump.core import Backoff, Bump, Operation, SourceHistory, fixed_message
from shipline.bump.editors import EditResult, Target
from shipline.bump.gitremote import GitSettings, bump_with_git
from shipline.bump.imageref import require_image
from tests.support.config_repo import changed_lines, config_repo, git, read_file, rev, run_bump

__all__ = ["config_repo"]  # the fixture, imported for pytest

STAGING = "apps/api/overlays/staging/kustomization.yaml"
PRODUCTION = "apps/api/overlays/production/kustomization.yaml"
BRANCH = "shipline/bump/api/staging"
FAST = Backoff(attempts=5, initial=0.01, maximum=0.05)


def bump(image: str, file: str = STAGING, **target: object) -> Bump:
    return Bump(file, Target(require_image(image), **target))  # type: ignore[arg-type]


def refs(bare: Path) -> str:
    return git("--git-dir", str(bare), "for-each-ref", "--format=%(refname) %(objectname)")


def test_created_then_unchanged_then_updated_as_one_commit_on_the_base(config_repo: Path) -> None:
    settings = GitSettings(str(config_repo), branch=BRANCH, backoff=FAST)
    before = read_file(config_repo, "main", STAGING)

    first = bump_with_git(
        settings, bump("registry.acme.test/shop/api:1.5.0"), fixed_message("Bump api to 1.5.0")
    )
    assert first.operation is Operation.CREATED
    assert first.old_image == "registry.acme.test/shop/api:1.4.2"
    assert changed_lines(before, read_file(config_repo, BRANCH, STAGING)) == [
        (
            '    newTag: "1.4.2"    # quoted so 1.10 never becomes a float',
            '    newTag: "1.5.0"    # quoted so 1.10 never becomes a float',
        )
    ]
    assert rev(config_repo, BRANCH) == first.commit_sha
    assert (
        git("--git-dir", str(config_repo), "log", "-1", "--format=%s", BRANCH).strip()
        == "Bump api to 1.5.0"
    )

    snapshot = refs(config_repo)
    again = bump_with_git(
        settings, bump("registry.acme.test/shop/api:1.5.0"), fixed_message("Bump api to 1.5.0")
    )
    assert again.operation is Operation.UNCHANGED
    assert again.commit_sha == first.commit_sha
    assert refs(config_repo) == snapshot  # no write at all

    newer = bump_with_git(
        settings, bump("registry.acme.test/shop/api:1.6.0"), fixed_message("Bump api to 1.6.0")
    )
    assert newer.operation is Operation.UPDATED
    assert (
        git("--git-dir", str(config_repo), "rev-list", "--count", f"main..{BRANCH}").strip() == "1"
    )
    assert changed_lines(before, read_file(config_repo, BRANCH, STAGING))[0][1].startswith(
        '    newTag: "1.6.0"'
    )
    assert read_file(config_repo, "main", STAGING) == before  # the base is never touched


def test_an_older_image_never_moves_the_environment_backwards_unless_allowed(
    config_repo: Path,
) -> None:
    settings = GitSettings(str(config_repo), backoff=FAST)  # direct push to main
    snapshot = refs(config_repo)
    older = bump_with_git(
        settings, bump("registry.acme.test/shop/api:1.3.9"), fixed_message("downgrade")
    )
    assert older.operation is Operation.UNCHANGED and older.backwards
    assert "1.3.9 is an older version than 1.4.2" in older.notes[0]
    assert refs(config_repo) == snapshot
    allowed = Bump(
        STAGING, Target(require_image("registry.acme.test/shop/api:1.3.9")), allow_downgrade=True
    )
    forced = bump_with_git(settings, allowed, fixed_message("rollback"))
    assert forced.operation is Operation.CREATED
    assert '"1.3.9"' in read_file(config_repo, "main", STAGING)


def _racing(first_waits_for: threading.Event) -> object:
    """A describe callback that holds a bump between its read and its push until told to go."""

    def describe(edit: EditResult) -> tuple[str, str]:
        assert first_waits_for.wait(30)
        return f"bump {edit.changes[0].new}", ""

    return describe


def test_two_direct_pushes_at_once_both_land_on_the_fresh_base(config_repo: Path) -> None:
    settings = GitSettings(str(config_repo), backoff=FAST)
    released = threading.Event()
    results = {}

    def slow() -> None:
        results["api"] = bump_with_git(
            settings, bump("registry.acme.test/shop/api:1.5.0"), _racing(released)
        )  # type: ignore[arg-type]

    thread = threading.Thread(target=slow)
    thread.start()
    # The other pipeline bumps a different app in another file while the first one waits.
    results["worker"] = bump_with_git(
        settings, bump("ghcr.io/acme/worker:2.1.0", PRODUCTION), fixed_message("bump worker")
    )
    released.set()
    thread.join(60)
    assert results["worker"].attempts == 1
    assert results["api"].attempts == 2  # its first push was rejected as non-fast-forward
    assert '"1.5.0"' in read_file(config_repo, "main", STAGING)
    assert "newTag: '2.1.0'" in read_file(config_repo, "main", PRODUCTION)
    assert git("--git-dir", str(config_repo), "rev-list", "--count", "main").strip() == "3"


@pytest.mark.parametrize(
    ("waiting", "racing", "winner"), [("1.6.0", "1.5.0", "1.6.0"), ("1.5.0", "1.6.0", "1.6.0")]
)
def test_the_same_app_bumped_twice_at_once_ends_on_the_newer_image(
    config_repo: Path, waiting: str, racing: str, winner: str
) -> None:
    settings = GitSettings(str(config_repo), branch=BRANCH, backoff=FAST)
    released = threading.Event()
    results = {}

    def slow() -> None:
        results["waiting"] = bump_with_git(
            settings, bump(f"registry.acme.test/shop/api:{waiting}"), _racing(released)
        )  # type: ignore[arg-type]

    thread = threading.Thread(target=slow)
    thread.start()
    results["racing"] = bump_with_git(
        settings, bump(f"registry.acme.test/shop/api:{racing}"), fixed_message("racing")
    )
    released.set()
    thread.join(60)
    assert f'newTag: "{winner}"' in read_file(config_repo, BRANCH, STAGING)
    assert (
        git("--git-dir", str(config_repo), "rev-list", "--count", f"main..{BRANCH}").strip() == "1"
    )
    late = results["waiting"]
    assert late.attempts == 2  # its lease on "no branch yet" was stale
    assert late.operation is (Operation.UPDATED if waiting == winner else Operation.UNCHANGED)
    assert late.backwards is (waiting != winner)


def make_source_repo(root: Path) -> tuple[Path, list[str]]:
    source = root / "app"
    source.mkdir()
    git("init", "--quiet", "--initial-branch=main", cwd=source)
    commits = []
    for subject in ("first release", "fix the typo in the greeting", "add health check"):
        git("commit", "--quiet", "--allow-empty", "-m", subject, cwd=source)
        commits.append(git("rev-parse", "--short=7", "HEAD", cwd=source).strip())
    return source, commits


def test_commit_tags_are_ordered_by_ancestry_and_bring_their_changelog(
    config_repo: Path, tmp_path: Path
) -> None:
    source, commits = make_source_repo(tmp_path)
    history = SourceHistory(source)
    settings = GitSettings(str(config_repo), backoff=FAST)
    values = "charts/api/values.yaml"  # pins sha-0a1b2c3: unknown to this history, so that bump goes ahead
    base = Bump(
        values,
        Target(require_image(f"registry.acme.test/shop/api:sha-{commits[0]}")),
        ancestry=history.ancestry,
    )
    assert bump_with_git(settings, base, fixed_message("first")).operation is Operation.CREATED
    newer = Bump(
        values,
        Target(require_image(f"registry.acme.test/shop/api:sha-{commits[2]}")),
        ancestry=history.ancestry,
    )
    messages: list[str] = []

    def describe(edit: EditResult) -> tuple[str, str]:
        log = history.changelog(edit.old_version, f"sha-{commits[2]}")
        messages.extend(log)
        return "bump", "\n".join(log)

    assert bump_with_git(settings, newer, describe).operation is Operation.CREATED
    assert [line.split(" ", 1)[1] for line in messages] == [
        "add health check",
        "fix the typo in the greeting",
    ]
    older = Bump(
        values,
        Target(require_image(f"registry.acme.test/shop/api:sha-{commits[1]}")),
        ancestry=history.ancestry,
    )
    refused = bump_with_git(settings, older, fixed_message("older"))
    assert (
        refused.backwards
        and f"commit {commits[1]} is an ancestor of {commits[2]}" in refused.notes[0]
    )


def test_the_cli_reports_outputs_and_summary_for_the_git_transport(
    config_repo: Path, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    code, commands, outputs, summary, log = run_bump(
        workspace,
        image="registry.acme.test/shop/api:1.5.0",
        file=STAGING,
        repository=str(config_repo),
        transport="git",
        environment="staging",
        source_repo=".",
    )
    assert code == 0, log
    assert outputs["operation"] == "created"
    assert outputs["old-image"] == "registry.acme.test/shop/api:1.4.2"
    assert outputs["new-image"] == "registry.acme.test/shop/api:1.5.0"
    assert outputs["branch"] == BRANCH
    assert outputs["commit-sha"] == rev(config_repo, BRANCH)
    assert outputs["pr-number"] == ""
    assert "Bump `api` in `staging`: created" in summary
    assert "| 14 | images[name=api].newTag | 1.4.2 | 1.5.0 |" in summary
    subject = git("--git-dir", str(config_repo), "log", "-1", "--format=%s%n%b", BRANCH)
    assert subject.startswith("Bump api in staging to 1.5.0")
    assert "<!-- shipline-bump app=api environment=staging -->" in subject
    code, _commands, outputs, _summary, log = run_bump(
        workspace,
        image="registry.acme.test/shop/api:1.5.0",
        file=STAGING,
        repository=str(config_repo),
        transport="git",
        environment="staging",
    )
    assert (code, outputs["operation"]) == (0, "unchanged"), log
    assert not [c for c in commands if c[0] == "error"]


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (
            {"file": "../outside.yaml"},
            "input 'file' got '../outside.yaml': expected a path inside the config repository",
        ),
        (
            {"file": "apps/missing.yaml"},
            "input 'file' got 'apps/missing.yaml': no such file on main",
        ),
        (
            {"file": "charts/api/values.yaml", "yaml_path": "image.version"},
            "YAML path 'image.version' was not found in charts/api/values.yaml",
        ),
        (
            {"image": "registry.acme.test/shop/web:1.0.0"},
            "has no 'images:' entry named registry.acme.test/shop/web",
        ),
        (
            {"image": "registry.acme.test/shop/api"},
            "input 'image' got 'registry.acme.test/shop/api': expected an image reference with a tag or digest",
        ),
        ({"file": "hostile/alias-bomb.yaml", "format": "helm"}, "alias bomb"),
        ({"transport": "svn"}, "input 'transport' got 'svn': expected one of github, git"),
        ({"title": "{nope}"}, "unknown field {nope}"),
    ],
)
def test_bad_input_exits_2_naming_what_was_not_found(
    config_repo: Path, tmp_path: Path, inputs: dict[str, str], message: str
) -> None:
    given = {
        "image": "registry.acme.test/shop/api:1.5.0",
        "file": STAGING,
        "repository": str(config_repo),
        "transport": "git",
    } | inputs
    snapshot = refs(config_repo)
    code, commands, _outputs, _summary, log = run_bump(tmp_path / "ws", **given)
    assert code == 2, log
    errors = [text for name, _props, text in commands if name == "error"]
    assert len(errors) == 1 and message in errors[0], log
    assert refs(config_repo) == snapshot  # nothing half-done


def test_a_failing_remote_is_a_clear_error(tmp_path: Path) -> None:
    settings = GitSettings(str(tmp_path / "nowhere.git"), backoff=FAST)
    with pytest.raises(Exception, match="git failed with exit code 128"):
        bump_with_git(settings, bump("registry.acme.test/shop/api:1.5.0"), fixed_message("x"))
    assert subprocess.run(["git", "--version"], capture_output=True, check=False).returncode == 0


def test_the_python_api_for_the_local_pipeline_run(config_repo: Path, tmp_path: Path) -> None:
    from shipline.bump.local import bump_local

    source, commits = make_source_repo(tmp_path)
    values = "charts/api/values.yaml"
    first = bump_local(
        config_repo,
        values,
        f"registry.acme.test/shop/api:sha-{commits[0]}",
        environment="staging",
        source_repo=source,
    )
    assert first.operation is Operation.CREATED and first.branch == "main"
    assert rev(config_repo, "main") == first.commit_sha
    second = bump_local(
        config_repo,
        values,
        f"registry.acme.test/shop/api:sha-{commits[2]}",
        environment="staging",
        source_repo=source,
        commit="c0ffee",
    )
    message = git("--git-dir", str(config_repo), "log", "-1", "--format=%B", "main")
    assert message.startswith(f"Bump api in staging to sha-{commits[2]}")
    assert (
        "fix the typo in the greeting" in message and "add health check" in message
    )  # the changelog
    assert "source commit: c0ffee" in message
    assert second.old_image == f"registry.acme.test/shop/api:sha-{commits[0]}"
    again = bump_local(
        config_repo, values, f"registry.acme.test/shop/api:sha-{commits[2]}", environment="staging"
    )
    assert again.operation is Operation.UNCHANGED and again.commit_sha == second.commit_sha


def test_the_cli_warns_instead_of_moving_an_environment_backwards(
    config_repo: Path, tmp_path: Path
) -> None:
    snapshot = refs(config_repo)
    code, commands, outputs, summary, log = run_bump(
        tmp_path / "ws",
        image="registry.acme.test/shop/api:1.3.0",
        file=STAGING,
        repository=str(config_repo),
        transport="git",
        environment="staging",
    )
    assert code == 0, log
    assert outputs["operation"] == "unchanged"
    warnings = [text for name, _props, text in commands if name == "warning"]
    assert len(warnings) == 1 and "would move staging backwards" in warnings[0]
    assert "1.3.0 is an older version than 1.4.2" in summary
    assert refs(config_repo) == snapshot


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({}, "input 'token' got '': expected a token, or app-id with app-private-key"),
        (
            {"repository": "config", "token": "t"},
            "input 'repository' got 'config': expected owner/name",
        ),
        (
            {"token": "t", "api_url": "http://github.example"},
            "input 'api-url' got 'http://github.example': expected an https:// URL",
        ),
        (
            {"app_id": "12", "app_private_key": "not a key"},
            "input 'app-id' got '12': expected a numeric GitHub App id together with app-private-key",
        ),
        ({"token": "t", "direct_push": "true"}, "input 'direct-push' got 'true'"),
        (
            {"token": "t", "merge_method": "octopus"},
            "input 'merge-method' got 'octopus': expected one of merge, squash, rebase",
        ),
    ],
)
def test_github_inputs_are_checked_before_any_request(
    tmp_path: Path, inputs: dict[str, str], message: str
) -> None:
    given = {
        "image": "registry.acme.test/shop/api:1.5.0",
        "file": STAGING,
        "repository": "acme/config",
        "api_url": "https://127.0.0.1:9",
    } | inputs
    code, commands, _outputs, _summary, log = run_bump(tmp_path / "ws", **given)
    assert code == 2, log
    errors = [text for name, _props, text in commands if name == "error"]
    assert len(errors) == 1 and message in errors[0], log
    assert "not a key" not in log
