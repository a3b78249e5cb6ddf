"""What an action's code receives: its parsed-on-demand inputs and the runner's channels."""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from dataclasses import dataclass

from shipline.gha.commands import Console
from shipline.gha.files import RunnerFiles
from shipline.gha.inputs import Inputs
from shipline.gha.summary import Summary


@dataclass
class ActionContext:
    inputs: Inputs
    console: Console
    files: RunnerFiles
    environ: MutableMapping[str, str]

    @classmethod
    def create(
        cls, inputs: Inputs, environ: MutableMapping[str, str] | None = None
    ) -> ActionContext:
        env = os.environ if environ is None else environ
        console = Console(env)
        return cls(inputs, console, RunnerFiles(console, env), env)

    def write_summary(self, summary: Summary) -> None:
        summary.write(self.console, self.environ)
