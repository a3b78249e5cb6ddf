"""Deterministic sharding of a test collection by measured durations (standard library only).

Tests are placed longest first (ties broken by node id) on the shard that has the least
estimated time so far (ties: fewer tests, then lower index), then a bounded local search moves
or swaps single tests off the longest shard while that shortens it. The same durations and the
same collection give the same assignment on every machine, so each shard job recomputes its
own share instead of receiving a list from the plan job.

With ``keep_together`` the pieces placed are groups (the tests of one class, or of one module)
instead of single tests: a class- or module-scoped fixture then runs in one shard, not in every
shard that got one of its tests. Only a group heavier than an eighth of a shard is split, so
the placement keeps enough small pieces to reach the lower bound: a class into its tests, a
module into runs of consecutive tests of at most that eighth (a shard that collects only its own
modules imports every module it has a piece of, so a module should reach few shards).

``plan_modules`` places modules from the history alone, before anything is collected, so a
shard can leave every other module unimported (``ModulePlan``).

Runs in shipline and, through shard_plugin.py, inside the project's pytest on the project's
interpreter: standard library only, and nothing newer than Python 3.8.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import json
import math
import os
import posixpath
import statistics
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

# An estimate for every test when nothing has been measured yet: equal weights, so the
# split is by count until the first merge records real times (and summaries say so).
DEFAULT_ESTIMATE = 1.0
UNMEASURED = "no stored durations yet: split by count"
# What a test recorded as taking no time is assumed to cost when spreading such tests: below
# the JUnit report's millisecond resolution, enough to keep them off an already long shard.
ZERO_TEST_COST = 0.0005
# Local search steps are bounded so planning stays fast on suites of tens of thousands.
MAX_IMPROVEMENT_ROUNDS = 200
# JUnit reports times to the millisecond: a plan that close to the lower bound is as good as
# the data can tell, so the local search stops there instead of shuffling ties.
RESOLUTION = 0.001
# keep_together: "none" places single tests; "class" keeps each class together (and the
# module-level tests of each module); "module" keeps each module together.
KEEP_TOGETHER = ("none", "class", "module")
# A group heavier than this share of a shard's time is split (a class into its tests, a module
# into runs of at most this share). Measured on benchmarks/sharding's two suites: an eighth
# still plans at the lower bound at 2 to 16 shards.
SPLIT_SHARE = 1 / 8


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as in the matrix
    tests: tuple[str, ...]
    seconds: float


@dataclass(frozen=True)
class Plan:
    shards: tuple[Shard, ...]
    estimates: Mapping[str, float]
    unknown: int  # tests without a stored duration, given the median estimate

    @property
    def makespan(self) -> float:
        return max((s.seconds for s in self.shards), default=0.0)

    @property
    def total(self) -> float:
        return math.fsum(s.seconds for s in self.shards)

    def shard(self, index: int) -> Shard:
        return self.shards[index - 1]


def estimate(
    tests: Iterable[str], durations: Mapping[str, float], skipped: Iterable[str] = ()
) -> tuple[dict[str, float], int]:
    """Seconds per test: measured, else the median of the measured tests that ran. A test last
    ``skipped`` is planned on what its skip took (in ``durations``; 0 when absent) and left
    out of the median: a skip by a mark took nothing, which says nothing of a new test's time.

    Only durations of collected tests count, so deleted or renamed tests do not skew the
    median; a renamed test is simply unknown until it is measured under its new name.
    """
    # sorted: every sum and walk over the estimates is then the same whatever order the
    # collection came in (pytest-randomly gives each shard job its own)
    collected = sorted(set(tests))
    skipped_ids = set(skipped)
    known = [durations[t] for t in collected if t in durations and t not in skipped_ids]
    fallback = statistics.median(known) if known else DEFAULT_ESTIMATE
    result: dict[str, float] = {}
    unknown = 0
    for test in collected:
        if test in skipped_ids:
            result[test] = max(0.0, durations.get(test, 0.0))
        elif test in durations:
            result[test] = max(0.0, durations[test])
        else:
            result[test] = fallback
            unknown += 1
    return result, unknown


def lower_bound(seconds: Iterable[float], shards: int) -> float:
    """No assignment to ``shards`` machines can finish before this."""
    values = list(seconds)
    if not values:
        return 0.0
    return max(math.fsum(values) / shards, max(values))


def assign(
    estimates: Mapping[str, float], shards: int, keep_together: str = "none"
) -> list[list[str]]:
    """Node ids per shard; never an empty shard when there are at least ``shards`` tests."""
    if shards < 1:
        raise ValueError("shards must be at least 1")
    units = _units(estimates, shards, keep_together)
    if len(units) < shards:  # too few groups to give every shard one: place single tests
        units = {test: (test,) for test in estimates}
    weights = {unit: math.fsum(estimates[t] for t in tests) for unit, tests in units.items()}
    return [sorted(t for unit in group for t in units[unit]) for group in _place(weights, shards)]


def _units(
    estimates: Mapping[str, float], shards: int, keep_together: str
) -> dict[str, tuple[str, ...]]:
    """The pieces to place: single tests, or groups of tests that share a class or module."""
    if keep_together not in KEEP_TOGETHER:
        raise ValueError(f"keep_together must be one of {', '.join(KEEP_TOGETHER)}")
    if keep_together == "none":
        return {test: (test,) for test in estimates}
    members: dict[str, list[str]] = {}
    for test in sorted(estimates):
        # "path::Class::test[x]": the module is before the first "::", the class before the
        # last one outside the parameters (an id such as "[host::5432]" may hold "::" too)
        module, _, rest = test.partition("::")
        address = f"{module}::{rest.partition('[')[0]}"  # a directory may hold "[" too
        key = module if keep_together == "module" else address.rsplit("::", 1)[0]
        members.setdefault(key, []).append(test)
    # fsum is exact, so the same in any order: a plain sum's last bits follow the collection
    # order, and a group right at the limit would be split in one shard job and not another
    too_heavy = math.fsum(estimates.values()) / shards * SPLIT_SHARE
    units: dict[str, tuple[str, ...]] = {}
    for key, tests in members.items():
        if len(tests) == 1 or math.fsum(estimates[t] for t in tests) <= too_heavy:
            units[key + "::"] = tuple(tests)  # no node id ends in "::": keys never collide
        elif keep_together == "module":
            # every shard that gets part of a module imports it (a shard collects only its
            # modules): cut it into few runs, not into tests that land in every shard
            for index, run in enumerate(_runs(tests, estimates, too_heavy)):
                units[f"{key}::{index}::"] = run
        else:
            units.update((test, (test,)) for test in tests)
    return units


def _runs(tests: list[str], estimates: Mapping[str, float], limit: float) -> list[tuple[str, ...]]:
    """``tests`` cut in node-id order into consecutive runs of at most ``limit`` seconds (a
    longer test is a run of its own)."""
    runs: list[list[str]] = [[]]
    load = 0.0
    for test in tests:
        if runs[-1] and load + estimates[test] > limit:
            runs.append([])
            load = 0.0
        runs[-1].append(test)
        load += estimates[test]
    return [tuple(run) for run in runs]


def _place(estimates: Mapping[str, float], shards: int) -> list[list[str]]:
    """Longest first onto the least loaded shard, then the local search; then weightless ones."""
    timed = sorted((t for t in estimates if estimates[t] > 0), key=lambda t: (-estimates[t], t))
    groups: list[list[str]] = [[] for _ in range(shards)]
    loads = [0.0] * shards
    heap = [(0.0, 0, index) for index in range(shards)]
    for test in timed:
        load, count, index = heapq.heappop(heap)
        groups[index].append(test)
        loads[index] = load + estimates[test]
        heapq.heappush(heap, (loads[index], count + 1, index))
    _improve(groups, loads, estimates)
    # Tests that take no measurable time (skipped ones included) still cost pytest a little:
    # spread them over the shards with headroom, by count, instead of piling them onto one.
    spread = [(loads[i] + len(groups[i]) * ZERO_TEST_COST, i) for i in range(shards)]
    heapq.heapify(spread)
    for test in sorted(t for t in estimates if estimates[t] <= 0):
        cost, index = heapq.heappop(spread)
        groups[index].append(test)
        heapq.heappush(spread, (cost + ZERO_TEST_COST, index))
    return groups


def _improve(groups: list[list[str]], loads: list[float], estimates: Mapping[str, float]) -> None:
    """Move or swap one test off the longest shard while that strictly shortens the makespan."""
    weights = [estimates[t] for group in groups for t in group]
    good_enough = lower_bound(weights, len(groups)) + RESOLUTION
    for _ in range(MAX_IMPROVEMENT_ROUNDS):
        top = max(range(len(loads)), key=lambda i: (loads[i], -i))
        if len(groups[top]) <= 1 or loads[top] <= good_enough:
            return
        if not (
            _try_move(groups, loads, estimates, top) or _try_swap(groups, loads, estimates, top)
        ):
            return


def _try_move(
    groups: list[list[str]], loads: list[float], estimates: Mapping[str, float], top: int
) -> bool:
    makespan = loads[top]
    best: tuple[float, int, str] | None = None
    for other in range(len(loads)):
        if other == top:
            continue
        for test in groups[top]:
            weight = estimates[test]
            new_peak = max(makespan - weight, loads[other] + weight)
            if weight > 0 and new_peak < makespan - 1e-12:
                candidate = (new_peak, other, test)
                if best is None or candidate < best:
                    best = candidate
    if best is None:
        return False
    _, other, test = best
    groups[top].remove(test)
    groups[other].append(test)
    loads[top] -= estimates[test]
    loads[other] += estimates[test]
    return True


def _try_swap(
    groups: list[list[str]], loads: list[float], estimates: Mapping[str, float], top: int
) -> bool:
    """Swap a longer test off the top shard for a shorter one, the pair closest to half the gap."""
    makespan = loads[top]
    best: tuple[float, int, str, str] | None = None
    top_tests = sorted(groups[top], key=lambda t: (estimates[t], t))
    for other in range(len(loads)):
        if other == top:
            continue
        gap = makespan - loads[other]
        other_tests = sorted(groups[other], key=lambda t: (estimates[t], t))
        other_weights = [estimates[t] for t in other_tests]
        for test_out in top_tests:
            weight_out = estimates[test_out]
            # the ideal incoming weight leaves both shards at the same load
            position = bisect.bisect_left(other_weights, weight_out - gap / 2)
            for near in (position - 1, position):
                if not 0 <= near < len(other_tests):
                    continue
                delta = weight_out - other_weights[near]
                if 0 < delta < gap:
                    new_peak = max(makespan - delta, loads[other] + delta)
                    candidate = (new_peak, other, test_out, other_tests[near])
                    if best is None or candidate < best:
                        best = candidate
    if best is None:
        return False
    _, other, test_out, test_in = best
    delta = estimates[test_out] - estimates[test_in]
    groups[top].remove(test_out)
    groups[other].remove(test_in)
    groups[top].append(test_in)
    groups[other].append(test_out)
    loads[top] -= delta
    loads[other] += delta
    return True


def plan(
    tests: Iterable[str],
    durations: Mapping[str, float],
    shards: int,
    skipped: Iterable[str] = (),
    keep_together: str = "none",
) -> Plan:
    """The shard assignment; the count is capped by the number of tests (never empty)."""
    estimates, unknown = estimate(tests, durations, skipped)
    count = max(1, min(shards, len(estimates)))
    groups = assign(estimates, count, keep_together) if estimates else [[]]
    return _plan_of(groups, estimates, unknown)


def _plan_of(groups: Iterable[Iterable[str]], estimates: dict[str, float], unknown: int) -> Plan:
    """Shards 1..N from the node ids per shard, in sorted order, with their estimated time."""
    shards = []
    for index, group in enumerate(groups):
        tests = tuple(sorted(group))
        shards.append(Shard(index + 1, tests, math.fsum(estimates[t] for t in tests)))
    return Plan(tuple(shards), estimates, unknown)


def fingerprint(tests: Iterable[str]) -> str:
    """A checksum of a set of node ids, whatever their order: merge compares the one each shard
    job split with the union of the shards' shares (see ``report.check_split``)."""
    return _sha256(sorted(set(tests)))


def _sha256(value: object) -> str:
    return hashlib.sha256(json.dumps(value).encode("utf-8")).hexdigest()


def choose_shard_count(
    estimates: Mapping[str, float], target_seconds: float, max_shards: int
) -> int:
    """Enough shards that each takes about ``target_seconds``, within 1..max and the test count."""
    total = math.fsum(estimates.values())
    wanted = math.ceil(total / target_seconds) if target_seconds > 0 else max_shards
    return max(1, min(wanted, max_shards, len(estimates) or 1))


def module_of(nodeid: str) -> str:
    """The file a node id belongs to: ``path/test_x.py::Class::test[a::b]`` -> ``path/test_x.py``."""
    return nodeid.split("::", 1)[0]


def _bucket(name: str, count: int) -> int:
    """A pick in 0..count-1 from a name alone, the same in every process (unlike ``hash``)."""
    return zlib.crc32(name.encode("utf-8")) % count


@dataclass(frozen=True)
class ModulePlan:
    """Which shard runs which test, decided from the history before anything is collected.

    The known modules are placed as with keep_together "module" (a heavy one cut into runs
    that go to several shards). A module the history does not know goes to a shard picked from its path, a test new
    to a split module to one of that module's shards picked from its id: every shard job works
    out the same owner for every test without seeing the others' collections, so a shard needs
    to import only the modules it owns.
    """

    count: int
    modules: Mapping[str, tuple[int, ...]]  # known module -> the shards that run its tests
    placed: Mapping[str, int]  # known test -> its shard (1-based)

    def owners(self, module: str) -> tuple[int, ...]:
        known = self.modules.get(module)
        return known if known else (1 + _bucket(module, self.count),)

    def owner(self, nodeid: str) -> int:
        if nodeid in self.placed:
            return self.placed[nodeid]
        owners = self.owners(module_of(nodeid))
        return owners[_bucket(nodeid, len(owners))]

    def fingerprint(self) -> str:
        """A checksum of the placement: shard jobs with the same one give every test the same
        owner (no shard collects the whole suite, so there is no common collection to sum)."""
        modules = sorted((m, list(owners)) for m, owners in self.modules.items())
        return _sha256([self.count, modules, sorted(self.placed.items())])


def plan_modules(
    durations: Mapping[str, float],
    shards: int,
    skipped: Iterable[str] = (),
    exists: Callable[[str], bool] = lambda module: True,
) -> ModulePlan | None:
    """Place the history's modules that ``exists`` (``in_selection``) says can still be
    collected; None if they cannot give every shard a test."""
    present = {m: exists(m) for m in {module_of(t) for t in durations}}
    known = [t for t in durations if present[module_of(t)]]
    placed_plan = plan(known, durations, shards, skipped, "module")
    if not known or len(placed_plan.shards) < shards:
        return None
    placed = {test: shard.index for shard in placed_plan.shards for test in shard.tests}
    modules: dict[str, set[int]] = {}
    for test, index in placed.items():
        modules.setdefault(module_of(test), set()).add(index)
    return ModulePlan(shards, {m: tuple(sorted(s)) for m, s in modules.items()}, placed)


def in_selection(root: str | Path, paths: Iterable[str]) -> Callable[[str], bool]:
    """Whether a module of the history can be collected now: a file below ``root`` (the
    rootdir, which node ids are relative to) under one of ``paths`` (all of it when none).

    A history holds what the last merged run collected; the paths filter keeps a narrower
    selection from being planned as if the rest of that run were still in it.
    """
    prefixes = [posixpath.normpath(path.replace(os.sep, "/")) for path in paths]

    def selected(module: str) -> bool:
        under = not prefixes or any(
            p == "." or module == p or module.startswith(p + "/") for p in prefixes
        )
        return under and (Path(root) / module).is_file()

    return selected


def plan_owned(
    tests: Iterable[str],
    durations: Mapping[str, float],
    modules: ModulePlan,
    skipped: Iterable[str] = (),
) -> Plan:
    """The collected ``tests`` split as ``modules`` says (a shard may get none of them)."""
    estimates, unknown = estimate(tests, durations, skipped)
    groups: list[list[str]] = [[] for _ in range(modules.count)]
    for test in estimates:
        groups[modules.owner(test) - 1].append(test)
    return _plan_of(groups, estimates, unknown)
