"""One call for the local pipeline run: bump an image in a config repository over plain git.

    from shipline.bump.local import bump_local
    outcome = bump_local("/srv/config.git", "apps/api/overlays/staging/kustomization.yaml",
                         "127.0.0.1:5000/shop/api:sha-1a2b3c4@sha256:...", environment="staging")
    outcome.operation, outcome.commit_sha, outcome.old_image  # created/updated/unchanged, ...

It is the ``bump-config-repo`` action with ``transport: git`` minus the runner: the same
editors, never-backwards rule, retries on a rejected push, and the action's default title
and body. Bad input raises ``UsageError``; a failing git raises ``ToolFailedError``.
"""

from __future__ import annotations

from pathlib import Path

from shipline.bump.core import Backoff, Bump, Outcome, SourceHistory
from shipline.bump.editors import Format, Target, ValueKind
from shipline.bump.gitremote import GitSettings, bump_with_git
from shipline.bump.imageref import require_image
from shipline.bump.messages import Templates, branch_name, describer


def bump_local(
    remote: str | Path,
    file: str,
    image: str,
    *,
    app: str = "",
    environment: str = "default",
    base: str = "main",
    direct_push: bool = True,
    file_format: Format = Format.AUTO,
    yaml_path: str = "",
    digest_path: str = "",
    container: str = "",
    value: ValueKind = ValueKind.REFERENCE,
    allow_downgrade: bool = False,
    source_repo: Path | None = None,
    commit: str = "",
    templates: Templates | None = None,
    workdir: Path | None = None,
) -> Outcome:
    """Push the one-line change to ``base`` (``direct_push``, like a merged PR) or to the
    ``shipline/bump/<app>/<environment>`` branch; returns what happened."""
    new = require_image(image)
    chosen = templates or Templates()
    chosen.check()
    app_name = app or new.repository
    history = SourceHistory(source_repo) if source_repo is not None else None
    target = Target(new, file_format, "", yaml_path, digest_path, container, value)
    bump = Bump(file, target, allow_downgrade, history.ancestry if history else None)
    branch = "" if direct_push else branch_name(chosen.branch, app_name, environment)
    settings = GitSettings(str(remote), base, branch, backoff=Backoff())
    describe = describer(
        chosen,
        app=app_name,
        environment=environment,
        file=file,
        image=new,
        commit=commit,
        history=history,
    )
    return bump_with_git(settings, bump, describe, workdir)
