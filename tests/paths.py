"""Where the tests find the project's files and the npm data packages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NPM_MODULES = ROOT / ".ci" / "npm" / "node_modules"
SARIF_SCHEMA = (
    NPM_MODULES / "@microsoft" / "jest-sarif" / "lib" / "schemas" / "sarif-2.1.0-rtm.5.json"
)


def load_npm_json(path: Path) -> Any:
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: install the npm data packages with `npm ci --prefix .ci/npm`"
        )
    return json.loads(path.read_text(encoding="utf-8"))
