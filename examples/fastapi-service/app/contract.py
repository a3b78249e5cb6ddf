"""Write or check the pinned OpenAPI contract.

    python -m app.contract           # regenerate contract/openapi.json from the code
    python -m app.contract --check   # exit 1 if the code no longer matches the pinned file

Regenerating is a deliberate act reviewed in the diff: the contract is what clients rely on.
"""

import argparse
import difflib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.main import create_app
from app.settings import Settings

DEFAULT_CONTRACT = Path(__file__).resolve().parent.parent / "contract" / "openapi.json"


def current_schema() -> dict[str, Any]:
    # Fixed settings keep the schema independent of the environment it is generated in.
    return create_app(settings=Settings()).openapi()


def render(schema: dict[str, Any]) -> str:
    """The canonical text of a contract: sorted keys, so regenerating gives a minimal diff."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.contract", description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("--path", type=Path, default=DEFAULT_CONTRACT, help="contract file")
    args = parser.parse_args(argv)
    path: Path = args.path
    expected = render(current_schema())

    if not args.check:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(expected, encoding="utf-8")
        print(f"wrote {path}")
        return 0

    if not path.is_file():
        print(f"contract check failed: {path} does not exist", file=sys.stderr)
        return 1
    pinned = path.read_text(encoding="utf-8")
    if pinned == expected:
        print(f"contract matches {path}")
        return 0
    diff = difflib.unified_diff(
        pinned.splitlines(keepends=True),
        expected.splitlines(keepends=True),
        fromfile=f"{path} (pinned)",
        tofile="app.openapi() (code)",
    )
    sys.stderr.write("contract check failed: the code's OpenAPI differs from the pinned file\n")
    sys.stderr.writelines(diff)
    return 1


if __name__ == "__main__":
    sys.exit(main())
