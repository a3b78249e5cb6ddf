"""Branch name, title and body of the change, from user templates checked before any write."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass

from shipline.bump.core import Describe, SourceHistory
from shipline.bump.editors import Change, EditResult
from shipline.bump.imageref import ImageRef
from shipline.errors import UsageError

DEFAULT_BRANCH = "shipline/bump/{app}/{environment}"
DEFAULT_TITLE = "Bump {app} in {environment} to {new_version_short}"
DEFAULT_BODY = """\
Bumps **{app}** in **{environment}** (`{file}`).

| | image |
| --- | --- |
| from | `{old_image}` |
| to | `{new_image}` |

- source commit: {commit}
- image digest: `{digest}`
- pipeline run: {run_url}

{changes}

{changelog}
"""
FIELDS = (
    "app",
    "environment",
    "file",
    "old_image",
    "new_image",
    "old_version",
    "new_version",
    "new_version_short",
    "tag",
    "digest",
    "commit",
    "short_commit",
    "run_url",
    "changes",
    "changelog",
)
_BRANCH_SAFE = re.compile(r"[^A-Za-z0-9._/-]+")


@dataclass(frozen=True)
class Templates:
    branch: str = DEFAULT_BRANCH
    title: str = DEFAULT_TITLE
    body: str = DEFAULT_BODY

    def check(self) -> None:
        """Refuses unknown fields up front, so a typo never fails half-way through a bump."""
        for name, template in (("branch", self.branch), ("title", self.title), ("body", self.body)):
            for _text, field_name, _spec, _conv in string.Formatter().parse(template):
                if field_name is not None and field_name not in FIELDS:
                    raise UsageError(
                        f"input '{name}' got '{template}': unknown field {{{field_name}}}; "
                        f"expected fields from {', '.join(FIELDS)}"
                    )


def marker(app: str, environment: str) -> str:
    """A hidden line in the body that finds this app's bump PRs for this environment again."""
    return f"<!-- shipline-bump app={app} environment={environment} -->"


def branch_name(template: str, app: str, environment: str) -> str:
    name = template.format_map({"app": app, "environment": environment} | _blank_fields())
    clean = _BRANCH_SAFE.sub("-", name).strip("/.-")
    if not clean or ".." in clean or clean.endswith(".lock"):
        raise UsageError(f"input 'branch' got '{template}': it gives no valid branch name")
    return clean


def _blank_fields() -> dict[str, str]:
    return {name: "" for name in FIELDS if name not in ("app", "environment")}


def render(
    templates: Templates,
    *,
    app: str,
    environment: str,
    file: str,
    old_image: str,
    new: ImageRef,
    old_version: str,
    commit: str,
    run_url: str,
    changes: list[Change],
    changelog: list[str],
) -> tuple[str, str]:
    """(title, body); the body ends with the marker that finds the PR again."""
    version = new.tag or (new.digest or "")
    values: Mapping[str, str] = {
        "app": app,
        "environment": environment,
        "file": file,
        "old_image": old_image or "(none)",
        "new_image": str(new),
        "old_version": old_version,
        "new_version": version,
        "new_version_short": new.tag or (new.digest or "")[:19],
        "tag": new.tag or "",
        "digest": new.digest or "not given",
        "commit": commit or "not given",
        "short_commit": commit[:7],
        "run_url": run_url or "not given",
        "changes": "\n".join(
            f"- line {c.line} `{c.field}`: `{c.old}` → `{c.new}`" for c in changes
        ),
        "changelog": (
            "<details><summary>Changelog</summary>\n\n"
            + "\n".join(f"- {line}" for line in changelog)
            + "\n\n</details>"
            if changelog
            else ""
        ),
    }
    title = " ".join(templates.title.format_map(values).split())
    body = templates.body.format_map(values).rstrip() + "\n\n" + marker(app, environment) + "\n"
    return title, body


def describer(
    templates: Templates,
    *,
    app: str,
    environment: str,
    file: str,
    image: ImageRef,
    commit: str = "",
    run_url: str = "",
    history: SourceHistory | None = None,
) -> Describe:
    """The Describe a transport calls once it knows the old image and the changed lines."""

    def describe(edit: EditResult) -> tuple[str, str]:
        changelog = history.changelog(edit.old_version, image.version) if history else []
        return render(
            templates,
            app=app,
            environment=environment,
            file=file,
            old_image=edit.old_image,
            new=image,
            old_version=edit.old_version,
            commit=commit,
            run_url=run_url,
            changes=edit.changes,
            changelog=changelog,
        )

    return describe
