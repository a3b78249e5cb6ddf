"""Adapter: combine the shards' coverage.py data into one total, in shipline's environment.

Each shard ran in its own checkout, whose absolute path may differ from the merge job's; the
shards' project directories are mapped onto this checkout with coverage's ``[paths]``
remapping, so the report reads this job's source files. The project's own coverage
configuration (omit, exclude_lines, fail_under, ...) is honoured.
"""

from __future__ import annotations

import contextlib
import io
import os
import sqlite3
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipline.errors import ToolFailedError

CONFIG_FILES = (".coveragerc", "setup.cfg", "tox.ini", "pyproject.toml")


@dataclass(frozen=True)
class Combined:
    percent: float  # the total covered
    fail_under: float  # the project's own [report] fail_under (0: none)
    precision: int  # the project's [report] precision, which coverage.py judges fail_under on


def combine(
    project: Path,
    shard_projects: Sequence[str],
    data_files: Sequence[Path],
    target: Path,
    workspace: Path,
) -> Combined:
    """Combine ``data_files`` into ``target``: the total percentage covered."""
    import coverage  # the test extra's dependency
    from coverage.exceptions import CoverageWarning

    config = _config_file(project)
    missing = [str(f) for f in data_files if not f.is_file()]
    if missing:
        raise ToolFailedError(f"coverage data missing from the shard reports: {', '.join(missing)}")
    target.unlink(missing_ok=True)
    aliases = [str(project), *sorted({p for p in shard_projects if p != str(project)})]
    try:
        for data_file in data_files:
            _refuse_unreadable(data_file)
        # the project's settings (source, omit) are relative to the project directory
        with contextlib.chdir(project):
            cov = coverage.Coverage(
                data_file=str(target), config_file=str(config) if config else False
            )
            # the project's debug output would go raw to the log (its config's strings, which
            # could be workflow commands) or to any file its debug_file names, as $GITHUB_PATH
            cov.set_option("run:debug", [])
            cov.set_option("run:debug_file", None)
            # and its disable_warnings would silence the warnings that block below
            cov.set_option("run:disable_warnings", [])
            cov.set_option("paths", {"project": aliases})
            with warnings.catch_warnings():
                # coverage.py passes over what it cannot use with a warning (a source it cannot
                # parse or find under ignore_errors): a total without it is not the project's
                warnings.simplefilter("error", CoverageWarning)
                percent = _total(cov, data_files, workspace)
            fail_under = cov.get_option("report:fail_under")
            precision = cov.get_option("report:precision")
    except (coverage.CoverageException, CoverageWarning) as error:
        raise ToolFailedError(f"coverage could not combine the shards' data: {error}") from None
    except ImportError as error:  # a plugin lives in the project's environment, not shipline's
        raise ToolFailedError(
            f"coverage could not combine the shards' data: the project's coverage configuration "
            f"loads the plugin {error.name or error}, which merge cannot import (it combines in "
            "shipline's environment, not the project's): coverage measured with plugins cannot "
            "be merged"
        ) from None
    return Combined(
        float(percent),
        float(fail_under) if isinstance(fail_under, int | float) else 0,
        precision if isinstance(precision, int) else 0,
    )


def _total(cov: Any, data_files: Sequence[Path], workspace: Path) -> float:
    """The shards' data combined into ``cov``'s data file, and the total it reports."""
    import coverage

    cov.combine([str(f) for f in data_files], strict=True, keep=True)
    outside = _outside(cov.get_data(), workspace)
    if outside:
        raise coverage.CoverageException(
            f"coverage data of the shards names {len(outside)} file(s) outside the workspace "
            f"(first: {outside[0]}), which merge does not read: leave them out of the "
            "measurement ([run] source or omit in the project's coverage configuration)"
        )
    cov.save()
    return float(cov.report(file=io.StringIO()))


def _refuse_unreadable(data_file: Path) -> None:
    """coverage.py's combine passes over a data file it cannot read with a warning, and over
    an empty one, or a SQLite file of other tables, without a word (it writes its own tables
    into that one): a total without a shard's data could pass the threshold."""
    import coverage

    try:  # read-only: the shard's file stays as it came
        uri = f"{data_file.absolute().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as database:
            database.execute("SELECT version FROM coverage_schema").fetchone()
    except sqlite3.Error as error:
        raise coverage.CoverageException(
            f"the data file {data_file} is not coverage.py's: {error}"
        ) from None
    coverage.CoverageData(basename=str(data_file)).read()


def _outside(data: Any, workspace: Path) -> list[str]:
    """Measured files that are not in the workspace (after [paths] mapped the shards'
    checkouts onto this one): a shard's temporary files, or anything a report names, such as
    /dev/zero, which the report would read."""
    root = os.path.realpath(workspace)
    return sorted(
        name
        for name in data.measured_files()
        if os.path.commonpath([root, os.path.realpath(name)]) != root
    )


def omit_patterns(project: Path) -> list[str]:
    """The project's own ``[run] omit`` patterns, to extend rather than replace on a command line."""
    import coverage  # the test extra's dependency

    config = _config_file(project)
    with contextlib.chdir(project):
        cov = coverage.Coverage(config_file=str(config) if config else False)
        omit = cov.get_option("run:omit")
    return [str(pattern) for pattern in omit] if isinstance(omit, list) else []


def _config_file(project: Path) -> Path | None:
    return next((project / name for name in CONFIG_FILES if (project / name).is_file()), None)
