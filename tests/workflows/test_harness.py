"""The act harness itself, on the self-test workflow .github/workflows/selftest-harness.yml."""

import subprocess
from pathlib import Path

import actrun
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = REPO_ROOT / ".github/workflows/selftest-harness.yml"
FIXTURE = "tests/workflows/fixtures/selftest-greet/action.yml"
FLAVOURS = ("alpha", "beta")
HEAD_SHA = "f" * 40


@pytest.fixture(scope="module")
def pr_run() -> actrun.ActResult:
    payload = actrun.example_payload(
        "pull_request", "opened", overrides={"pull_request.head.sha": HEAD_SHA}
    )
    return actrun.run_workflow(WORKFLOW, "pull_request", payload, timeout=120)


@pytest.fixture(scope="module")
def failing_run() -> actrun.ActResult:
    return actrun.run_workflow(WORKFLOW, "workflow_dispatch", inputs={"fail": True}, timeout=120)


# --- act runs -------------------------------------------------------------------------------


@pytest.mark.slow
def test_all_jobs_ran_and_succeeded(pr_run: actrun.ActResult) -> None:
    assert pr_run.exit_code == 0, pr_run.report()
    assert set(pr_run.jobs) == {"greet (alpha)", "greet (beta)", "report"}
    assert {key: job.result for key, job in pr_run.jobs.items()} == dict.fromkeys(
        pr_run.jobs, "success"
    )
    report = pr_run.jobs["report"]
    assert [s.id for s in report.steps if s.stage == "Main" and "/" not in s.id] == [
        "python",
        "cache",
        "2",
        "read",
    ]
    assert all(s.result == "success" for s in report.steps)


@pytest.mark.slow
def test_matrix_runs_each_flavour_with_its_own_step_output(pr_run: actrun.ActResult) -> None:
    runs = pr_run.runs("greet")
    assert sorted(run.matrix["flavour"] for run in runs) == sorted(FLAVOURS)
    for run in runs:
        flavour = run.matrix["flavour"]
        assert run.step("greet").outputs["greeting"] == f"hello from {flavour}"


@pytest.mark.slow
def test_job_output_reaches_the_needing_job(pr_run: actrun.ActResult) -> None:
    greeting = pr_run.runs("greet")[0].outputs["greeting"]
    # a matrix job's output is the value of one of its runs, as on GitHub
    assert greeting in {f"hello from {flavour}" for flavour in FLAVOURS}
    assert all(run.outputs == {"greeting": greeting} for run in pr_run.runs("greet"))
    assert pr_run.jobs["report"].outputs["seen"] == greeting


@pytest.mark.slow
def test_artifacts_pass_between_jobs(pr_run: actrun.ActResult) -> None:
    assert pr_run.jobs["report"].outputs["files"] == "alpha.txt,beta.txt"
    upload = pr_run.jobs["greet (alpha)"].step("2")
    assert upload.outputs["artifact-id"].isdigit()
    assert len(upload.outputs["artifact-digest"]) == 64


@pytest.mark.slow
def test_stand_ins_report_what_they_did(pr_run: actrun.ActResult) -> None:
    report = pr_run.jobs["report"]
    python = report.step("python").outputs
    assert Path(python["python-path"]).is_file()
    assert python["python-version"].startswith("3.11")
    assert report.step("read").outputs["python"] == "3"
    assert report.step("cache").outputs == {"cache-hit": "false"}
    assert any("restores and saves nothing" in line for line in report.step("cache/restore").output)


@pytest.mark.slow
def test_annotation_is_parsed_and_unescaped(pr_run: actrun.ActResult) -> None:
    alpha = pr_run.jobs["greet (alpha)"]
    assert alpha.annotations == [
        actrun.Annotation(
            level="warning",
            message="100% alpha\nsecond line",
            file=FIXTURE,
            line=28,
            end_line=29,
            col=9,
            title="selftest: alpha, escaped",
            job="greet (alpha)",
            step="greet/greet",
        )
    ]
    assert sorted(a.job for a in pr_run.annotations) == ["greet (alpha)", "greet (beta)"]


@pytest.mark.slow
def test_job_summary_is_collected(pr_run: actrun.ActResult) -> None:
    for flavour in FLAVOURS:
        summary = pr_run.jobs[f"greet ({flavour})"].summary
        assert summary.startswith(f"### selftest {flavour}\n")
        assert f"| {flavour} | hello |" in summary
    assert pr_run.jobs["report"].summary == ""


@pytest.mark.slow
def test_failing_variant_fails_the_run_and_skips_the_dependent(
    failing_run: actrun.ActResult,
) -> None:
    assert failing_run.exit_code == 1
    assert [run.result for run in failing_run.runs("greet")] == ["failure", "failure"]
    assert failing_run.jobs["report"].result == "skipped"
    assert failing_run.jobs["report"].outputs == {}
    errors = [a for a in failing_run.annotations if a.level == "error"]
    assert sorted(a.message for a in errors) == [
        f"selftest asked to fail ({flavour})" for flavour in FLAVOURS
    ]
    assert {(a.file, a.line) for a in errors} == {(FIXTURE, 33)}
    for run in failing_run.runs("greet"):
        assert run.step("greet").result == "failure"
    assert "Job 'greet' failed" in failing_run.stderr


@pytest.mark.slow
def test_single_job_runs_with_what_it_needs() -> None:
    result = actrun.run_workflow(WORKFLOW, "pull_request", job="report", timeout=120)
    assert result.exit_code == 0, result.report()
    assert {job.job_id for job in result.jobs.values()} == {"greet", "report"}
    assert result.jobs["report"].outputs["files"] == "alpha.txt,beta.txt"


# --- no act needed --------------------------------------------------------------------------


def test_missing_stand_in_is_refused_before_act_starts(tmp_path: Path) -> None:
    workflow = tmp_path / "uses-unknown.yml"
    workflow.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "      - uses: acme/not-stubbed/sub@v1.2.3 # no stand-in\n",
        encoding="utf-8",
    )
    with pytest.raises(actrun.MissingStubError) as raised:
        actrun.run_workflow(workflow, "push")
    assert raised.value.missing == [
        f"acme/not-stubbed/sub@v1.2.3 (in {workflow}): expected .ci/act/acme/not-stubbed/sub/action.yml"
    ]
    assert "acme/not-stubbed/sub@v1.2.3" in str(raised.value)


def test_remote_uses_are_found_through_local_and_self_references(tmp_path: Path) -> None:
    (tmp_path / "local").mkdir()
    (tmp_path / "local/action.yml").write_text(
        "runs:\n  using: composite\n  steps:\n    - uses: actions/cache@v5\n", encoding="utf-8"
    )
    (tmp_path / "actions/tool").mkdir(parents=True)
    (tmp_path / "actions/tool/action.yml").write_text(
        "runs:\n  using: composite\n  steps:\n    - uses: 'actions/setup-python@v7'\n",
        encoding="utf-8",
    )
    workflow = tmp_path / "w.yml"
    workflow.write_text(
        "jobs:\n  a:\n    steps:\n      - uses: ./local\n"
        "      - uses: shipline/shipline/actions/tool@v1\n"
        "      - {name: flow style is not scanned}\n"
        "      - uses: docker://alpine:3\n",
        encoding="utf-8",
    )
    uses = actrun.remote_uses(workflow, tmp_path)
    # shipline's own refs are reported (act must be told where they live) and followed
    assert sorted(map(str, uses)) == [
        "actions/cache@v5",
        "actions/setup-python@v7",
        "shipline/shipline/actions/tool@v1",
    ]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    args = actrun.local_repository_args(uses, tmp_path)
    assert f"actions/cache@v5={actrun.STUB_ROOT / 'actions/cache'}" in args
    assert f"shipline/shipline@v1={tmp_path / '.cache' / 'act-self'}" in args
    with pytest.raises(actrun.MissingStubError, match="shipline/shipline/actions/tool@v1"):
        actrun.local_repository_args(
            actrun.remote_uses(workflow, tmp_path, "x/y"), tmp_path, self_repository="x/y"
        )


def test_self_refs_map_to_a_snapshot_of_what_git_sees(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text(".venv/\n")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv/huge.bin").write_bytes(b"x" * 1024)
    (tmp_path / "action.yml").write_text("name: x\n")
    workflow = tmp_path / "w.yml"
    workflow.write_text(
        "jobs:\n  a:\n    uses: shipline/shipline/.github/workflows/x.yml@v1\n", encoding="utf-8"
    )
    use = actrun.RemoteUse("shipline", "shipline", ".github/workflows/x.yml", "v1", workflow)
    snapshot = tmp_path / ".cache" / "act-self"
    assert actrun.local_repository_args([use], tmp_path) == [
        "--local-repository",
        f"shipline/shipline@v1={snapshot}",
    ]
    # ignored files (a virtualenv, caches) stay out: act would read them all into memory
    copied = sorted(p.relative_to(snapshot).as_posix() for p in snapshot.rglob("*") if p.is_file())
    assert copied == [".gitignore", "action.yml", "w.yml"]


def test_workflow_commands_are_unescaped_like_the_runner() -> None:
    assert actrun.unescape_property("a%3Ab%2Cc%25d%0Ae%0D") == "a:b,c%d\ne\r"
    assert actrun.unescape_data("%3A%2C%25%0A") == "%3A%2C%\n"
    assert actrun.unescape_data("100%250A") == "100%0A"  # one pass: %25 then 0A stays text
    assert actrun.parse_command("::error file=a.py,line=3,title=x%2Cy::m%0An\n") == (
        "error",
        {"file": "a.py", "line": "3", "title": "x,y"},
        "m\nn",
    )
    assert actrun.parse_command("::notice::plain") == ("notice", {}, "plain")
    assert actrun.parse_command("no command") is None


def test_observer_job_is_added_to_the_jobs_block() -> None:
    text = (
        "name: 'demo'\non: push\njobs:\n    first:\n        runs-on: x\n        steps:\n"
        "            - run: |\n                second:\n"
        '    "second": # quoted\n        runs-on: x\n# trailing comment\nenv:\n    A: b\n'
    )
    assert actrun.workflow_name(text, "f.yml") == "demo"
    assert actrun.workflow_name("on: push\n", "f.yml") == "f.yml"
    assert actrun.workflow_job_ids(text) == ["first", "second"]
    parsed = yaml.safe_load(actrun.with_needs_observer(text, ["first", "second"], "D"))
    assert list(parsed["jobs"]) == ["first", "second", actrun.OBSERVER_JOB]
    assert parsed["env"] == {"A": "b"}
    observer = parsed["jobs"][actrun.OBSERVER_JOB]
    assert observer["needs"] == ["first", "second"]
    assert observer["if"] == "${{ always() }}"
    assert observer["steps"][0]["env"]["NEEDS_JSON"] == "${{ toJSON(needs) }}"


def test_example_payload_is_a_real_one_with_overrides() -> None:
    payload = actrun.example_payload(
        "pull_request", "opened", overrides={"pull_request.head.sha": HEAD_SHA, "x.y": 1}
    )
    assert payload["action"] == "opened"
    assert payload["pull_request"]["head"]["sha"] == HEAD_SHA
    assert payload["x"] == {"y": 1}
    assert (
        actrun.example_payload("pull_request", "opened")["pull_request"]["head"]["sha"] != HEAD_SHA
    )
    with pytest.raises(actrun.ActRunError, match="no pull_request example with action"):
        actrun.example_payload("pull_request", "exploded")


def test_every_stand_in_says_what_it_is() -> None:
    stand_ins = sorted(actrun.STUB_ROOT.rglob("action.yml"))
    assert len(stand_ins) >= 7
    for path in stand_ins:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# Local stand-in for act runs"), path


def test_log_folding_follows_act_record_shapes() -> None:
    """Records shaped as act 0.2.89 logs a composite step and a called workflow's job."""

    def rec(step: list[str] | None = None, **fields: object) -> dict[str, object]:
        base: dict[str, object] = {"job": "demo/a   ", "jobID": "a", "matrix": {}, "msg": ""}
        if step is not None:
            base.update(stage="Main", stepID=step, step="./c")
        return {**base, **fields}

    records = [
        {"level": "warning", "msg": "no docker"},
        rec(["c"], msg="⭐ Run Main ./c"),
        rec(["c", "0"], stepResult="success"),
        rec(["c", "0"], command="set-output", name="x", arg="1"),
        rec(["c", "0"], command="summary", content="inner one\n"),
        rec(["c", "1"], raw_output=True, msg="hello\n"),
        rec(["c", "1"], command="error", raw="::error file=a.py,line=2::bad%0Athing\n"),
        rec(["c", "1"], stepResult="success"),
        rec(["c", "1"], command="summary", content="inner two\n"),
        rec(["c"], command="set-output", name="declared", arg="v"),
        rec(["c"], stepResult="success", executionTime=2_000_000),
        rec(["c"], command="set-output", name="x", arg="1"),  # replayed after the result
        rec(["c"], command="summary", content="inner two\n"),  # replayed, last only
        rec(jobResult="success"),
        rec(job="call/called wf/inner", jobID="inner", matrix={"v": True}, jobResult="failure"),
    ]
    result = actrun.parse_log(records, workflow_name="demo")
    assert list(result.jobs) == ["a", "call/inner (true)"]
    job = result.jobs["a"]
    assert job.result == "success"
    assert job.step("c").composite
    assert job.step("c").outputs == {"declared": "v"}
    assert job.step("c").seconds == 0.002
    assert job.step("c/0").outputs == {"x": "1"}
    assert job.step("c/1").output == ["hello\n"]
    assert job.summary == "inner one\ninner two\n"
    assert [(a.level, a.file, a.line, a.message, a.step) for a in job.annotations] == [
        ("error", "a.py", 2, "bad\nthing", "c/1")
    ]
    called = result.jobs["call/inner (true)"]
    assert (called.caller, called.result, called.name) == (
        "call",
        "failure",
        "call/called wf/inner",
    )
    assert result.runs("inner") == []
    assert len(result.lines) == len(records)


@pytest.mark.slow
def test_env_secrets_and_variables_reach_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "from-the-calling-shell")
    workflow = tmp_path / "context.yml"
    workflow.write_text(
        "on: push\njobs:\n  show:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - id: show\n        env:\n"
        "          TOKEN: ${{ secrets.TOKEN }}\n          LEVEL: ${{ vars.LEVEL }}\n"
        "        run: |\n"
        '          echo "mode=$MODE level=$LEVEL inherited=${GITHUB_TOKEN:-none}"\n'
        '          [ "$TOKEN" = "$EXPECTED" ] && echo "token=exact"\n',
        encoding="utf-8",
    )
    secret = 'it\'s "odd"\n$HOME \\ value'
    result = actrun.run_workflow(
        workflow,
        "push",
        env={"MODE": "test", "EXPECTED": secret},
        secrets={"TOKEN": secret},
        variables={"LEVEL": "3"},
        artifacts_dir=tmp_path / "artifacts",
        timeout=60,
    )
    assert result.exit_code == 0, result.report()
    assert result.jobs["show"].step("show").output == [
        "mode=test level=3 inherited=none\n",
        "token=exact\n",
    ]
    assert (tmp_path / "artifacts").is_dir()
