"""pytest plugin: keep this shard's tests out of pytest's own collection, in that same process.

A shard job used to collect twice: once to compute its share, once more when pytest ran the
chosen node ids; on a suite with heavy imports the second collection cost as much as the
shard's tests. This plugin computes the share right after pytest's collection instead.

It runs inside the project's pytest, with the project's interpreter, not shipline's, so it
uses nothing but pytest and the standard library: ``pytest_runner`` copies it and
``sharding.py`` into a scratch directory and loads it with ``-p``. The request (where that
``sharding.py`` is, the durations, the shard count and index, where to answer) and the answer
(what was collected and what this shard got) are JSON files; the request is named by the
``--shipline-shard`` option.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

OPTION = "--shipline-shard"  # pytest_runner passes it by this name


def pytest_addoption(parser: Any) -> None:
    parser.addoption(OPTION, metavar="REQUEST", help="shipline: the shard request (JSON) to run")


@pytest.hookimpl(trylast=True)  # after -m, -k and other plugins have deselected theirs
def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    request_path = config.getoption(OPTION)
    if not request_path:
        return
    request = json.loads(Path(request_path).read_text(encoding="utf-8"))
    sharding = _load(request["sharding"])
    collected = [item.nodeid for item in items]
    plan = sharding.plan(
        collected,
        request["seconds"],
        request["shards"],
        request["skipped"],
        request["keep_together"],
    )
    shard = request["shard"]
    chosen = plan.shard(shard) if shard <= len(plan.shards) else None
    wanted = set(chosen.tests) if chosen else set()
    dropped = [item for item in items if item.nodeid not in wanted]
    items[:] = [item for item in items if item.nodeid in wanted]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    answer = {
        "collected": len(collected),
        "shards": len(plan.shards),
        "tests": [item.nodeid for item in items],
        "seconds": chosen.seconds if chosen else 0.0,
        "unknown": plan.unknown,
    }
    # under pytest-xdist every worker collects and answers the same; replace, never interleave
    target = Path(request["answer"])
    partial = target.with_name(f"{target.name}.{os.getpid()}")
    partial.write_text(json.dumps(answer), encoding="utf-8")
    partial.replace(target)


def _load(path: str) -> Any:
    """shipline's sharding.py, from the copy the request names (the same code as the plan's)."""
    spec = importlib.util.spec_from_file_location("_shipline_sharding", path)
    if spec is None or spec.loader is None:
        raise pytest.UsageError(f"shipline: cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module
