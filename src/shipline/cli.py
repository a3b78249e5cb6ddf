"""``shipline <action> [--input value ...]``: one entry point for every action.

Every option also arrives as the ``INPUT_*`` variable GitHub sets for the action input of
the same name, so the same command runs from a terminal and from a composite action.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence
from typing import TextIO

from shipline import __version__
from shipline.errors import FileLineError, ShiplineError
from shipline.gha.commands import Annotation, AnnotationLevel, Console
from shipline.gha.inputs import ActionSpec, Inputs
from shipline.gha.summary import brief
from shipline.interrupts import interrupt_stops_tools
from shipline.registry import ACTION_MODULES, load_runner, load_spec


def build_parser(specs: dict[str, ActionSpec]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shipline",
        description="Take one change of a Python service from commit to production.",
    )
    parser.add_argument("--version", action="version", version=f"shipline {__version__}")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, spec in specs.items():
        sub = actions.add_parser(
            name,
            help=spec.description,
            description=spec.description,
            epilog="Each option may also be given as the INPUT_<NAME> environment variable.",
        )
        for item in spec.inputs:
            default = f" (default: {item.default})" if item.default else ""
            sub.add_argument(
                item.option, dest=item.dest, metavar="VALUE", help=f"{item.description}{default}"
            )
        if spec.positional is not None:
            # `shipline test-matrix plan` reads better than `--mode plan`; both work
            sub.add_argument(
                f"positional_{spec.positional}",
                nargs="?",
                metavar=spec.positional.upper(),
                help=f"the same as --{spec.positional}",
            )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    # Load only the spec of the action asked for, unless help across actions is wanted.
    wanted = [a for a in args_list if a in ACTION_MODULES][:1] or list(ACTION_MODULES)
    parser = build_parser({name: load_spec(name) for name in wanted})
    args = parser.parse_args(args_list)
    name: str = args.action
    spec = load_spec(name)
    values = {item.dest: _given(getattr(args, item.dest)) for item in spec.inputs}
    if spec.positional is not None:
        given = getattr(args, f"positional_{spec.positional}")
        dest = spec.input(spec.positional).dest
        if given is not None and values[dest] is not None and given != values[dest]:
            parser.error(
                f"{spec.positional} given twice: '{given}' and --{spec.positional} '{values[dest]}'"
            )
        values[dest] = values[dest] if given is None else given
    return run_action(name, Inputs(spec, values))


def _given(value: str | list[str] | None) -> str | None:
    """An option's value as typed. Python 3.11's argparse drops a value that is exactly ``--``
    (``--args=--``), handing back an empty list."""
    if isinstance(value, list):
        return "--"
    return value


def run_action(name: str, inputs: Inputs) -> int:
    from shipline.context import ActionContext

    context = ActionContext.create(inputs)
    try:
        with interrupt_stops_tools(), warnings.catch_warnings():
            warnings.showwarning = _shown_by(context.console)
            return load_runner(name)(context)
    except ShiplineError as error:
        context.console.annotate(_failure(error, f"shipline {name}", context.console.in_actions))
        return error.exit_code
    except KeyboardInterrupt:
        context.console.error("interrupted", title=f"shipline {name}")
        return 130
    except Exception as error:  # a crash must block, loudly, never pass
        if not context.console.in_actions:
            traceback.print_exc()
        elif os.environ.get("RUNNER_DEBUG") == "1":
            context.console.info(traceback.format_exc())  # its messages may be anyone's text
        context.console.error(
            brief(f"internal error: {type(error).__name__}: {error}", MESSAGE_CHARS),
            title=f"shipline {name}",
        )
        return 1


def _shown_by(console: Console) -> Callable[..., None]:
    """Python's warnings, as a library gives them (coverage.py's about a project's config),
    as log lines through the console: printed raw on stderr, their text could issue workflow
    commands. Not annotations: those a step may show are counted for its own findings."""

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        console.info(f"warning: {category.__name__}: {message}")

    return show


def _failure(error: ShiplineError, title: str, in_actions: bool) -> Annotation:
    """The error that ended the action. In a workflow, one about a line of an input file (a
    register, a durations file) sits on that line; its message names the place too, for the log
    (and a terminal, where a location would print it twice)."""
    message = brief(str(error), MESSAGE_CHARS)
    if in_actions and isinstance(error, FileLineError):
        return Annotation(
            AnnotationLevel.ERROR, message, file=error.path, line=error.line, title=title
        )
    return Annotation(AnnotationLevel.ERROR, message, title=title)


# An error is one line that a reader takes in: one that quotes a megabyte of an input file
# (a YAML key, a value jsonschema repeats) is cut, its input file says the rest.
MESSAGE_CHARS = 2_000
