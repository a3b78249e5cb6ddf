"""Sharding by stored durations: deterministic, balanced, never an empty shard."""

from __future__ import annotations

import itertools
import random

import pytest

from shipline.testmatrix import sharding


def loads(groups: list[list[str]], seconds: dict[str, float]) -> list[float]:
    return [sum(seconds[t] for t in group) for group in groups]


def test_same_input_gives_the_same_assignment_whatever_the_collection_order() -> None:
    seconds = {f"t{i}": float((i * 7) % 11) for i in range(40)}
    tests = list(seconds)
    first = sharding.plan(tests, seconds, 4)
    random.Random(3).shuffle(tests)
    again = sharding.plan(tests, dict(reversed(seconds.items())), 4)
    assert first == again


def test_local_search_reaches_the_optimum_greedy_misses() -> None:
    # Greedy longest-first gives {3,2,2}=7 / {3,2}=5; the optimum is {3,3}=6 / {2,2,2}=6.
    seconds = {"a": 3.0, "b": 3.0, "c": 2.0, "d": 2.0, "e": 2.0}
    plan = sharding.plan(seconds, seconds, 2)
    assert sorted(loads([list(s.tests) for s in plan.shards], seconds)) == [6.0, 6.0]
    assert plan.makespan == sharding.lower_bound(seconds.values(), 2)


def test_local_search_stops_within_the_timing_resolution_of_the_bound() -> None:
    # Moving "c" would shave 0.4 ms, below the millisecond JUnit measures: the plan is kept
    # (shuffling such ties cost 200 rounds, seconds of planning in every shard job of a big suite).
    seconds = {"a": 1.0, "b": 0.0004, "c": 0.0004, "d": 1.0}
    groups = [["a", "b", "c"], ["d"]]
    loads = [1.0008, 1.0]
    sharding._improve(groups, loads, seconds)
    assert groups == [["a", "b", "c"], ["d"]]
    # a gap over the resolution is still closed
    seconds = {"a": 1.0, "b": 0.004, "c": 0.004, "d": 1.0}
    groups = [["a", "b", "c"], ["d"]]
    loads = [1.008, 1.0]
    sharding._improve(groups, loads, seconds)
    assert loads == pytest.approx([1.004, 1.004])


def test_every_test_lands_on_exactly_one_shard() -> None:
    seconds = {f"tests/test_{i}.py::test": random.Random(i).random() for i in range(200)}
    plan = sharding.plan(seconds, seconds, 7)
    placed = list(itertools.chain.from_iterable(s.tests for s in plan.shards))
    assert sorted(placed) == sorted(seconds)
    assert [s.index for s in plan.shards] == list(range(1, 8))


@pytest.mark.parametrize("shards", [1, 2, 3, 5, 8])
def test_no_shard_is_empty_even_with_zero_duration_tests(shards: int) -> None:
    seconds = {"slow": 10.0, **{f"skipped{i}": 0.0 for i in range(shards)}}
    plan = sharding.plan(seconds, seconds, shards)
    assert all(s.tests for s in plan.shards)


def test_shard_count_is_capped_by_the_number_of_tests() -> None:
    plan = sharding.plan(["a", "b", "c"], {}, 8)
    assert len(plan.shards) == 3
    assert all(len(s.tests) == 1 for s in plan.shards)


def test_unknown_tests_get_the_median_of_known_ones_and_skipped_tests_count_zero() -> None:
    stored = {"a": 1.0, "b": 2.0, "c": 9.0, "gone": 100.0, "s": 5.0}
    estimates, unknown = sharding.estimate(["a", "b", "c", "new", "s"], stored, skipped=["s"])
    assert estimates == {"a": 1.0, "b": 2.0, "c": 9.0, "new": 2.0, "s": 0.0}
    assert unknown == 1  # "gone" (deleted or renamed) does not count, nor skew the median


def test_without_any_stored_duration_tests_are_split_by_count() -> None:
    plan = sharding.plan([f"t{i}" for i in range(10)], {}, 3)
    assert sorted(len(s.tests) for s in plan.shards) == [3, 3, 4]
    assert plan.unknown == 10


def test_the_longest_test_bounds_the_makespan_and_the_rest_is_balanced() -> None:
    seconds = {"huge": 50.0, **{f"small{i}": 1.0 for i in range(30)}}
    plan = sharding.plan(seconds, seconds, 4)
    assert plan.makespan == 50.0
    others = sorted(s.seconds for s in plan.shards)[:-1]
    assert others == [10.0, 10.0, 10.0]


def test_shard_count_follows_the_target_duration() -> None:
    estimates = {f"t{i}": 30.0 for i in range(20)}  # 600 s in all
    assert sharding.choose_shard_count(estimates, 300.0, 8) == 2
    assert sharding.choose_shard_count(estimates, 60.0, 8) == 8  # capped by max-shards
    assert sharding.choose_shard_count({"a": 1.0, "b": 1.0}, 0.1, 8) == 2  # by test count
    assert sharding.choose_shard_count(estimates, 10_000.0, 8) == 1


def test_planning_a_large_suite_is_near_the_lower_bound() -> None:
    rng = random.Random(7)
    seconds = {f"t{i:05d}": rng.lognormvariate(-3, 1.5) for i in range(5000)}
    for shards in (2, 4, 8, 16):
        plan = sharding.plan(seconds, seconds, shards)
        assert plan.makespan <= sharding.lower_bound(seconds.values(), shards) * 1.001


def test_zero_time_tests_are_spread_by_count_over_shards_with_headroom() -> None:
    zero = {f"z{i:02d}": 0.0 for i in range(30)}
    balanced = {"a": 4.0, "b": 4.0, "c": 4.0, **zero}
    even = sharding.plan(balanced, balanced, 3)
    assert [len(s.tests) for s in even.shards] == [11, 11, 11]
    assert even.makespan == 4.0
    # the shard that already holds the longest test gets none of them
    seconds = {"long": 10.0, "b": 4.0, "c": 4.0, **zero}
    plan = sharding.plan(seconds, seconds, 3)
    longest = next(s for s in plan.shards if "long" in s.tests)
    assert longest.tests == ("long",)
    assert sorted(len(s.tests) for s in plan.shards) == [1, 16, 16]
