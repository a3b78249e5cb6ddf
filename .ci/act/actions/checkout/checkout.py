"""actions/checkout stand-in for act runs: copy a local source, never fetch."""

import os
import shutil
import subprocess
import sys
from pathlib import Path


def _set_output(name: str, value: str) -> None:
    with Path(os.environ["GITHUB_OUTPUT"]).open("a", encoding="utf-8") as out:
        out.write(f"{name}={value}\n")


def main() -> int:
    repository = os.environ.get("INPUT_REPOSITORY", "").strip()
    ref = os.environ.get("INPUT_REF", "").strip()
    workspace = Path(os.environ["GITHUB_WORKSPACE"])
    dest = workspace / os.environ.get("INPUT_PATH", "").strip()
    if repository in ("", os.environ.get("GITHUB_REPOSITORY", "")):
        print("actions/checkout stand-in: act already copied the working tree into the workspace")
        _set_output("ref", ref or os.environ.get("GITHUB_REF", ""))
        _set_output("commit", os.environ.get("GITHUB_SHA", ""))
        return 0
    repos = os.environ.get("SHIPLINE_ACT_REPOS", "")
    source = Path(repos, repository) if repos else None
    if source is None or not source.is_dir():
        print(
            f"::error title=actions/checkout stand-in::cannot check out {repository} offline: "
            f"set SHIPLINE_ACT_REPOS to a directory holding {repository}/ "
            f"(now {repos or 'unset'})"
        )
        return 1
    if dest.exists() and any(dest.iterdir()):
        print(f"::error title=actions/checkout stand-in::destination {dest} is not empty")
        return 1
    if (source / ".git").exists():
        subprocess.run(
            ["git", "clone", "--quiet", "--no-hardlinks", str(source), str(dest)], check=True
        )
        if ref:
            subprocess.run(["git", "-C", str(dest), "checkout", "--quiet", ref], check=True)
        commit = subprocess.run(
            ["git", "-C", str(dest), "rev-parse", "HEAD"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    else:
        shutil.copytree(source, dest, dirs_exist_ok=True)
        commit = ""
    print(f"actions/checkout stand-in: copied {source} to {dest}")
    _set_output("ref", ref)
    _set_output("commit", commit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
