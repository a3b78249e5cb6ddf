import json
from pathlib import Path

import pytest

from app.contract import current_schema, main, render
from app.main import API_VERSION, create_app
from app.settings import Settings


def test_writes_the_contract_in_canonical_form(tmp_path: Path) -> None:
    target = tmp_path / "contract" / "openapi.json"

    assert main(["--path", str(target)]) == 0

    text = target.read_text(encoding="utf-8")
    assert json.loads(text) == current_schema()
    assert text == render(json.loads(text))


def test_check_passes_on_a_fresh_contract(tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"
    main(["--path", str(target)])

    assert main(["--check", "--path", str(target)]) == 0


def test_check_fails_with_a_diff_when_the_code_drifted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "openapi.json"
    target.write_text(render(current_schema()).replace("received_at", "recieved_at"))

    assert main(["--check", "--path", str(target)]) == 1

    err = capsys.readouterr().err
    assert '-          "recieved_at": {' in err
    assert '+          "received_at": {' in err


def test_check_fails_when_the_contract_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--check", "--path", str(tmp_path / "absent.json")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_build_identity_does_not_change_the_contract() -> None:
    # Every commit has a new GIT_SHA: were it in the schema, every commit would break the contract.
    built = create_app(settings=Settings(version="9.9.9", git_sha="cafe")).openapi()

    assert built == current_schema()
    assert built["info"]["version"] == API_VERSION
