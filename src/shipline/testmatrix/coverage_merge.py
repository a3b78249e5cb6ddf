"""Adapter: combine the shards' coverage.py data into one total, in shipline's environment.

Each shard ran in its own checkout, whose absolute path may differ from the merge job's; the
shards' project directories are mapped onto this checkout with coverage's ``[paths]``
remapping, so the report reads this job's source files. The project's own coverage
configuration (omit, exclude_lines, fail_under, ...) is honoured.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shipline.errors import ToolFailedError

CONFIG_FILES = (".coveragerc", "setup.cfg", "tox.ini", "pyproject.toml")


@dataclass(frozen=True)
class Combined:
    percent: float  # the total covered
    fail_under: float  # the project's own [report] fail_under (0: none)
    precision: int  # the project's [report] precision, which coverage.py judges fail_under on


def combine(
    project: Path, shard_projects: Sequence[str], data_files: Sequence[Path], target: Path
) -> Combined:
    """Combine ``data_files`` into ``target``: the total percentage covered."""
    import coverage  # the test extra's dependency

    config = _config_file(project)
    missing = [str(f) for f in data_files if not f.is_file()]
    if missing:
        raise ToolFailedError(f"coverage data missing from the shard reports: {', '.join(missing)}")
    target.unlink(missing_ok=True)
    aliases = [str(project), *sorted({p for p in shard_projects if p != str(project)})]
    try:
        # the project's settings (source, omit) are relative to the project directory
        with contextlib.chdir(project):
            cov = coverage.Coverage(
                data_file=str(target), config_file=str(config) if config else False
            )
            cov.set_option("paths", {"project": aliases})
            cov.combine([str(f) for f in data_files], strict=True, keep=True)
            cov.save()
            percent = cov.report(file=io.StringIO())
            fail_under = cov.get_option("report:fail_under")
            precision = cov.get_option("report:precision")
    except coverage.CoverageException as error:
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
