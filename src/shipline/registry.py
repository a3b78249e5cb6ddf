"""The actions the CLI serves. Each module exposes ``SPEC`` and ``run(context) -> exit code``.

Modules are imported only when their action is asked for, so ``shipline lint`` never pays
for the imports of ``scan-gate``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import cast

from shipline.context import ActionContext
from shipline.gha.inputs import ActionSpec

ACTION_MODULES: dict[str, str] = {
    "lint": "shipline.lint.spec",
    "bump-config-repo": "shipline.bump.spec",
    "scan-gate": "shipline.scan.spec",
    "build-cache": "shipline.build.spec",
    "sign": "shipline.sign.spec",
    "test-matrix": "shipline.testmatrix.spec",
}


def load_spec(name: str) -> ActionSpec:
    return cast(ActionSpec, _module(name).SPEC)


def spec_source(name: str) -> str:
    """The spec's path in the source tree, e.g. ``src/shipline/lint/spec.py``."""
    return "src/" + ACTION_MODULES[name].replace(".", "/") + ".py"


def load_runner(name: str) -> Callable[[ActionContext], int]:
    runner_module = importlib.import_module(ACTION_MODULES[name].rsplit(".", 1)[0] + ".action")
    return cast(Callable[[ActionContext], int], runner_module.run)


def _module(name: str) -> ModuleType:
    return importlib.import_module(ACTION_MODULES[name])
