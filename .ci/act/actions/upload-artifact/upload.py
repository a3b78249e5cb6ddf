"""actions/upload-artifact stand-in for act runs: copy files into $SHIPLINE_ACT_ARTIFACTS/<name>/.

The artifact root follows the real action: the least common ancestor of the search paths, where a
pattern's search path is everything before its first wildcard segment.
"""

import glob
import hashlib
import os
import shutil
import sys
from pathlib import Path

WILDCARDS = frozenset("*?[")


def _set_output(name: str, value: str) -> None:
    with Path(os.environ["GITHUB_OUTPUT"]).open("a", encoding="utf-8") as out:
        out.write(f"{name}={value}\n")


def _search_root(pattern: str) -> Path:
    parts = Path(pattern).parts
    for index, part in enumerate(parts):
        if WILDCARDS & set(part):
            return Path(*parts[:index]) if index else Path.cwd()
    path = Path(pattern)
    return path if path.is_dir() else path.parent


def _expand(pattern: str, hidden: bool) -> set[Path]:
    found: set[Path] = set()
    # Path.glob takes no absolute pattern and no include_hidden
    for match in glob.glob(pattern, recursive=True, include_hidden=hidden):  # noqa: PTH207
        path = Path(match).absolute()
        if path.is_dir():
            found.update(p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            found.add(path)
    return found


def _is_hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _fail(message: str) -> int:
    print(f"::error title=upload-artifact stand-in::{message}")
    return 1


def _claim_id(store: Path, name: str) -> str:
    ids = store / ".ids"
    ids.mkdir(parents=True, exist_ok=True)
    number = 1
    while True:
        try:
            fd = os.open(ids / str(number), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            number += 1
            continue
        os.write(fd, name.encode())
        os.close(fd)
        return str(number)


def main() -> int:
    store_env = os.environ.get("SHIPLINE_ACT_ARTIFACTS", "")
    if not store_env:
        return _fail(
            "SHIPLINE_ACT_ARTIFACTS is not set; run the workflow through scripts/actrun.py"
        )
    store = Path(store_env)
    name = os.environ.get("INPUT_NAME", "").strip() or "artifact"
    lines = [line.strip() for line in os.environ["INPUT_PATH"].splitlines() if line.strip()]
    includes = [Path(p).expanduser().absolute() for p in lines if not p.startswith("!")]
    excludes = [str(Path(p[1:]).expanduser().absolute()) for p in lines if p.startswith("!")]
    hidden = os.environ.get("INPUT_INCLUDE_HIDDEN_FILES", "false") == "true"
    files: set[Path] = set()
    for pattern in includes:
        files |= _expand(str(pattern), hidden)
    for pattern in excludes:
        files -= _expand(pattern, True)
    roots = [_search_root(str(p)).absolute() for p in includes]
    root = Path(os.path.commonpath(roots)) if roots else Path.cwd()
    if not hidden:
        files = {f for f in files if not _is_hidden(f, root)}
    if not files:
        mode = os.environ.get("INPUT_IF_NO_FILES_FOUND", "warn")
        message = f"No files were found with the provided path: {' '.join(lines)}. No artifacts will be uploaded."
        if mode == "error":
            return _fail(message)
        if mode == "warn":
            print(f"::warning title=upload-artifact stand-in::{message}")
        return 0
    if os.environ.get("INPUT_ARCHIVE", "true") == "false":
        if len(files) != 1:
            return _fail(f"archive: false uploads exactly one file; {len(files)} matched")
        name = next(iter(files)).name
    target = store / name
    if target.exists():
        if os.environ.get("INPUT_OVERWRITE", "false") != "true":
            return _fail(
                f"an artifact with the name {name} already exists in this run; set overwrite: true"
            )
        shutil.rmtree(target)
    digest = hashlib.sha256()
    for path in sorted(files):
        relative = path.relative_to(root)
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target / relative)
        digest.update(str(relative).encode() + b"\0" + path.read_bytes())
    print(f"upload-artifact stand-in: copied {len(files)} file(s) to {target}")
    _set_output("artifact-id", _claim_id(store, name))
    _set_output("artifact-url", target.as_uri())
    _set_output("artifact-digest", digest.hexdigest())
    return 0


if __name__ == "__main__":
    sys.exit(main())
