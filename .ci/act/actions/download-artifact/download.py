"""actions/download-artifact stand-in for act runs: copy from $SHIPLINE_ACT_ARTIFACTS."""

import fnmatch
import os
import shutil
import sys
from pathlib import Path


def _fail(message: str) -> int:
    print(f"::error title=download-artifact stand-in::{message}")
    return 1


def main() -> int:
    store_env = os.environ.get("SHIPLINE_ACT_ARTIFACTS", "")
    if not store_env:
        return _fail(
            "SHIPLINE_ACT_ARTIFACTS is not set; run the workflow through scripts/actrun.py"
        )
    store = Path(store_env)
    workspace = Path(os.environ["GITHUB_WORKSPACE"])
    dest = workspace / Path(os.environ.get("INPUT_PATH", "").strip()).expanduser()
    name = os.environ.get("INPUT_NAME", "").strip()
    ids = [i.strip() for i in os.environ.get("INPUT_ARTIFACT_IDS", "").split(",") if i.strip()]
    if name and ids:
        return _fail("inputs 'name' and 'artifact-ids' cannot be used together")
    if len(ids) == 1 and (store / ".ids" / ids[0]).is_file():
        name = (store / ".ids" / ids[0]).read_text(encoding="utf-8")
    available = (
        sorted(p.name for p in store.iterdir() if p.is_dir() and p.name != ".ids")
        if store.is_dir()
        else []
    )
    if name:
        if name not in available:
            return _fail(
                f"Artifact not found for name: {name} (this run has: {', '.join(available) or 'none'})"
            )
        shutil.copytree(store / name, dest, dirs_exist_ok=True)
        print(f"download-artifact stand-in: copied artifact {name} to {dest}")
    else:
        if ids:
            missing = [i for i in ids if not (store / ".ids" / i).is_file()]
            if missing:
                return _fail(f"Artifact ids not found in this run: {', '.join(missing)}")
            chosen = [(store / ".ids" / i).read_text(encoding="utf-8") for i in ids]
        else:
            pattern = os.environ.get("INPUT_PATTERN", "").strip()
            chosen = [n for n in available if not pattern or fnmatch.fnmatchcase(n, pattern)]
        merge = os.environ.get("INPUT_MERGE_MULTIPLE", "false") == "true"
        for artifact in chosen:
            shutil.copytree(
                store / artifact, dest if merge else dest / artifact, dirs_exist_ok=True
            )
        print(f"download-artifact stand-in: copied {len(chosen)} artifact(s) to {dest}")
    dest.mkdir(parents=True, exist_ok=True)
    with Path(os.environ["GITHUB_OUTPUT"]).open("a", encoding="utf-8") as out:
        out.write(f"download-path={dest.resolve()}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
