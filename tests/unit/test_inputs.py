from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import pytest

from shipline.gha.inputs import ActionSpec, InputError, Inputs, InputSpec, parse_duration

SPEC = ActionSpec(
    name="demo",
    description="demo",
    inputs=(
        InputSpec("flag", "a bool", default="false"),
        InputSpec("count", "an int", default="3"),
        InputSpec("items", "a list"),
        InputSpec("wait", "a duration", default="5m"),
        InputSpec("fail-on", "an enum", default="error"),
        InputSpec("path", "a path", default="."),
        InputSpec("token", "a secret", secret=True),
        InputSpec("needed", "required", required=True),
    ),
    outputs=(),
)


class FailOn(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NEVER = "never"


def make(
    tmp_path: Path, env: dict[str, str] | None = None, cli: dict[str, str | None] | None = None
) -> Inputs:
    return Inputs(SPEC, cli or {}, env or {}, workspace=tmp_path)


@pytest.mark.parametrize(
    ("raw", "value"),
    [("true", True), ("True", True), ("TRUE", True), ("false", False), ("False", False)],
)
def test_booleans_as_github_spells_them(tmp_path: Path, raw: str, value: bool) -> None:
    assert make(tmp_path, {"INPUT_FLAG": raw}).boolean("flag") is value


@pytest.mark.parametrize("raw", ["yes", "1", "tru", "on"])
def test_malformed_booleans_name_input_value_and_expectation(tmp_path: Path, raw: str) -> None:
    with pytest.raises(InputError) as caught:
        make(tmp_path, {"INPUT_FLAG": raw}).boolean("flag")
    assert str(caught.value) == f"input 'flag' got '{raw}': expected true or false"
    assert caught.value.exit_code == 2


def test_hyphenated_names_arrive_with_either_spelling(tmp_path: Path) -> None:
    assert make(tmp_path, {"INPUT_FAIL_ON": "warning"}).choice("fail-on", FailOn) is FailOn.WARNING
    assert make(tmp_path, {"INPUT_FAIL-ON": "never"}).choice("fail-on", FailOn) is FailOn.NEVER


def test_cli_value_wins_over_environment_and_blank_means_default(tmp_path: Path) -> None:
    inputs = make(tmp_path, {"INPUT_COUNT": "7"}, {"count": "9"})
    assert inputs.integer("count") == 9
    assert make(tmp_path, {"INPUT_COUNT": "  "}).integer("count") == 3


def test_integers_and_their_bounds(tmp_path: Path) -> None:
    assert make(tmp_path, {"INPUT_COUNT": "12"}).integer("count", minimum=1) == 12
    with pytest.raises(
        InputError, match=r"input 'count' got '0': expected a whole number from 1 to 8"
    ):
        make(tmp_path, {"INPUT_COUNT": "0"}).integer("count", minimum=1, maximum=8)
    with pytest.raises(InputError, match=r"got '2\.5': expected a whole number$"):
        make(tmp_path, {"INPUT_COUNT": "2.5"}).integer("count")


@pytest.mark.parametrize(("raw", "value"), [("-4", -4), ("007", 7), ("-0", 0)])
def test_integers_are_ascii_digits_with_an_optional_minus(
    tmp_path: Path, raw: str, value: int
) -> None:
    assert make(tmp_path, {"INPUT_COUNT": raw}).integer("count") == value


@pytest.mark.parametrize("raw", ["+2", "1_0", "\u0662", "\uff11", "0x1", "-", "1 2", "9" * 5000])
def test_integers_as_int_would_read_them_but_users_do_not_type_them(
    tmp_path: Path, raw: str
) -> None:
    with pytest.raises(InputError) as caught:
        make(tmp_path, {"INPUT_COUNT": raw}).integer("count", minimum=1)
    assert str(caught.value) == f"input 'count' got '{raw}': expected a whole number of at least 1"


def test_lists_split_on_commas_and_newlines(tmp_path: Path) -> None:
    inputs = make(tmp_path, {"INPUT_ITEMS": "a, b\nc\n\n , d,"})
    assert inputs.items("items") == ["a", "b", "c", "d"]
    assert make(tmp_path).items("items") == []


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90.0),
        ("90s", 90.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("250ms", 0.25),
        ("1.5h", 5400.0),
        ("2d", 172800.0),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5 m", "m5", "5x", "1h 30m", "-3s", "5m10"])
def test_bad_durations(tmp_path: Path, text: str) -> None:
    assert parse_duration(text) is None
    if text:
        with pytest.raises(InputError, match="expected a duration such as 30s, 5m or 1h30m"):
            make(tmp_path, {"INPUT_WAIT": text}).duration("wait")


def test_enums_accept_any_case_and_list_choices_when_wrong(tmp_path: Path) -> None:
    assert make(tmp_path, {"INPUT_FAIL_ON": "Warning"}).choice("fail-on", FailOn) is FailOn.WARNING
    with pytest.raises(InputError) as caught:
        make(tmp_path, {"INPUT_FAIL_ON": "sometimes"}).choice("fail-on", FailOn)
    assert (
        str(caught.value)
        == "input 'fail-on' got 'sometimes': expected one of error, warning, never"
    )


def test_paths_stay_inside_the_workspace(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    assert make(tmp_path, {"INPUT_PATH": "src"}).path("path") == tmp_path / "src"
    assert make(tmp_path, {"INPUT_PATH": str(tmp_path / "src")}).path("path") == tmp_path / "src"
    for escape in ("../outside", "src/../../etc", "/etc/passwd"):
        with pytest.raises(
            InputError, match=f"input 'path' got '{escape}': expected a path inside the workspace"
        ):
            make(tmp_path, {"INPUT_PATH": escape}).path("path")


def test_a_symlink_out_of_the_workspace_is_an_escape(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "link").symlink_to(tmp_path)
    with pytest.raises(InputError) as caught:
        Inputs(SPEC, {}, {"INPUT_PATH": "link/other"}, workspace=workspace).path("path")
    assert str(caught.value) == (
        f"input 'path' got 'link/other': expected a path inside the workspace {workspace} "
        f"(it resolves to {tmp_path / 'other'}, through a symbolic link)"
    )


def test_must_exist(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="expected an existing path"):
        make(tmp_path, {"INPUT_PATH": "missing"}).path("path", must_exist=True)


def test_workspace_comes_from_github_workspace(tmp_path: Path) -> None:
    inputs = Inputs(SPEC, {}, {"GITHUB_WORKSPACE": str(tmp_path), "INPUT_PATH": "x"})
    assert inputs.path("path") == tmp_path / "x"


def test_secret_values_never_appear_in_errors(tmp_path: Path) -> None:
    inputs = make(tmp_path, {"INPUT_TOKEN": "ghp_supersecret"})
    with pytest.raises(InputError) as caught:
        inputs.boolean("token")
    assert "ghp_supersecret" not in str(caught.value)
    assert "'***'" in str(caught.value)


def test_required_inputs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="input 'needed' got '': expected a value"):
        make(tmp_path).text("needed")
    assert make(tmp_path, {"INPUT_NEEDED": "x"}).text("needed") == "x"


def test_unknown_input_names_are_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(KeyError):
        make(tmp_path).text("nope")
