"""shipline lints itself with its own action: ruff, ruff format, mypy (strict on src/) and
zizmor on its workflows must report nothing, so CI fails on the first regression."""

from __future__ import annotations

from tests.paths import ROOT
from tests.support.action_runner import run_action


def test_shipline_passes_its_own_lint() -> None:
    # hadolint is off: tests/data holds deliberately bad Dockerfiles for the scanners
    run = run_action(
        "lint", ROOT, {"path": ".", "hadolint": "false", "zizmor": "true"}, timeout=600
    )
    found = [
        f"{props.get('file')}:{props.get('line')}: {message}"
        for _, props, message in run.annotations
    ]
    assert run.code == 0, "\n".join(found) or run.log
    assert run.outputs["findings"] == "0"
