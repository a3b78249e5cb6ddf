"""Typed action inputs, read the same from CLI options and from ``INPUT_*`` variables.

GitHub hands a JavaScript action its inputs as ``INPUT_<NAME>`` (upper case, spaces as
underscores, hyphens kept). Our composite actions pass them through ``env:`` where a
hyphen is awkward, so ``INPUT_FAIL_ON`` is accepted as well as ``INPUT_FAIL-ON``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TypeVar

from shipline.errors import UsageError

E = TypeVar("E", bound=Enum)

_TRUE = ("true", "True", "TRUE")
_FALSE = ("false", "False", "FALSE")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class InputError(UsageError):
    """An input whose value does not fit; the message names input, value and what fits."""

    def __init__(self, name: str, value: str, expected: str, *, secret: bool = False) -> None:
        shown = "***" if secret else value
        super().__init__(f"input '{name}' got '{shown}': expected {expected}")
        self.input_name = name


@dataclass(frozen=True)
class InputSpec:
    name: str
    description: str
    default: str = ""
    required: bool = False
    secret: bool = False

    @property
    def env_names(self) -> tuple[str, str]:
        upper = self.name.replace(" ", "_").upper()
        return f"INPUT_{upper.replace('-', '_')}", f"INPUT_{upper}"

    @property
    def option(self) -> str:
        return f"--{self.name}"

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")


@dataclass(frozen=True)
class OutputSpec:
    name: str
    description: str


@dataclass(frozen=True)
class ActionSpec:
    """An action's interface; actions/<name>/action.yml is generated from it."""

    name: str
    description: str
    inputs: tuple[InputSpec, ...]
    outputs: tuple[OutputSpec, ...]
    extra: str = "core"  # the requirements/<extra>.txt its environment installs
    icon: str = "check-circle"  # Marketplace branding (a Feather icon name)
    positional: str | None = None  # an input the CLI also takes as its first argument

    def input(self, name: str) -> InputSpec:
        for spec in self.inputs:
            if spec.name == name:
                return spec
        raise KeyError(f"{self.name} has no input {name!r}")


class Inputs:
    """Resolves each input (CLI option, then environment, then default) and parses it."""

    def __init__(
        self,
        spec: ActionSpec,
        cli_values: Mapping[str, str | None] | None = None,
        environ: Mapping[str, str] | None = None,
        workspace: Path | None = None,
    ) -> None:
        self.spec = spec
        self._cli = dict(cli_values or {})
        self._env = os.environ if environ is None else environ
        root = workspace or Path(self._env.get("GITHUB_WORKSPACE") or Path.cwd())
        self.workspace = root.resolve()

    def raw(self, name: str) -> str:
        spec = self.spec.input(name)
        value = self._cli.get(spec.dest)
        if value is None:
            for env_name in spec.env_names:
                if env_name in self._env:
                    value = self._env[env_name]
                    break
        value = spec.default if value is None or value.strip() == "" else value.strip()
        if spec.required and not value:
            raise InputError(name, "", "a value (this input is required)", secret=spec.secret)
        return value

    def _fail(self, name: str, value: str, expected: str) -> InputError:
        return InputError(name, value, expected, secret=self.spec.input(name).secret)

    def text(self, name: str) -> str:
        return self.raw(name)

    def boolean(self, name: str) -> bool:
        value = self.raw(name)
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise self._fail(name, value, "true or false")

    def integer(self, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
        value = self.raw(name)
        # int() alone also takes '+2', '1_0' and non-ASCII digits such as '٢'; 640 digits is
        # the lowest limit Python may be configured to convert, so int() cannot raise here
        number = int(value) if re.fullmatch(r"-?[0-9]{1,640}", value) else None
        if (
            number is None
            or (minimum is not None and number < minimum)
            or (maximum is not None and number > maximum)
        ):
            raise self._fail(name, value, f"a whole number{_bounds_text(minimum, maximum)}")
        return number

    def items(self, name: str) -> list[str]:
        """A list given one item per line or separated by commas; blanks are dropped."""
        value = self.raw(name)
        return [item.strip() for item in re.split(r"[,\n]", value) if item.strip()]

    def duration(self, name: str) -> float:
        """Seconds from ``90``, ``90s``, ``5m``, ``1h30m`` or ``250ms``."""
        value = self.raw(name)
        seconds = parse_duration(value)
        if seconds is None:
            raise self._fail(name, value, "a duration such as 30s, 5m or 1h30m")
        return seconds

    def choice(self, name: str, choices: type[E]) -> E:
        value = self.raw(name)
        for member in choices:
            if str(member.value).lower() == value.lower():
                return member
        allowed = ", ".join(str(member.value) for member in choices)
        raise self._fail(name, value, f"one of {allowed}")

    def path(self, name: str, *, must_exist: bool = False) -> Path:
        """A path inside the workspace; ``..`` escapes and outside absolute paths are refused."""
        value = self.raw(name)
        if "\0" in value:
            raise self._fail(name, value, "a path without NUL characters")
        candidate = Path(value)
        if not candidate.is_absolute():
            candidate = self.workspace / candidate
        resolved = candidate.resolve()
        if not resolved.is_relative_to(self.workspace):
            # inside as written, outside once resolved: a symbolic link leads out of it
            linked = Path(os.path.normpath(candidate)).is_relative_to(self.workspace)
            via = f" (it resolves to {resolved}, through a symbolic link)" if linked else ""
            raise self._fail(name, value, f"a path inside the workspace {self.workspace}{via}")
        if must_exist and not resolved.exists():
            raise self._fail(name, value, "an existing path")
        return resolved

    def optional_path(self, name: str, *, must_exist: bool = False) -> Path | None:
        return self.path(name, must_exist=must_exist) if self.raw(name) else None


def parse_duration(value: str) -> float | None:
    text = value.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    position, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != position:
            return None
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    return total if text and position == len(text) else None


def _bounds_text(minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f" from {minimum} to {maximum}"
    if minimum is not None:
        return f" of at least {minimum}"
    if maximum is not None:
        return f" of at most {maximum}"
    return ""
