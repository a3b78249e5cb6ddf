"""Inputs and outputs of the ``test-matrix`` action (kept equal to its action.yml by a test)."""

from shipline.gha.inputs import ActionSpec, InputSpec, OutputSpec

SPEC = ActionSpec(
    name="test-matrix",
    description="Plan a sharded pytest matrix from measured durations, run one shard with "
    "reruns and a quarantine register, merge the shards' reports, durations and coverage.",
    inputs=(
        InputSpec(
            "mode",
            "plan (matrix and shard count), run (one shard) or merge (all shards' reports).",
            required=True,
        ),
        InputSpec("path", "Project directory, inside the workspace.", default="."),
        InputSpec(
            "python",
            "Interpreter that runs the project's tests, with pytest installed: a path "
            "(relative to the workspace) or a command (default: the project's .venv if it has "
            "one, else python3).",
        ),
        InputSpec(
            "paths",
            "Test paths for this layer, comma or newline separated, relative to the project "
            "(default: the project's testpaths, which pytest must find under the project: "
            "else exit 2).",
        ),
        InputSpec(
            "markers",
            "Marker expression choosing the layer, e.g. `unit` or `not slow`. It replaces a `-m` "
            "of the project's addopts, PYTEST_ADDOPTS or args (pytest keeps the last `-m`): "
            "repeat that one in it to keep it, e.g. `(not stress) and (not slow)`; plan says "
            "when it replaced one.",
        ),
        InputSpec(
            "args",
            "Extra pytest options, shell-quoted, for collection and runs (not --rootdir: it is "
            "the project directory, which test ids are relative to).",
        ),
        InputSpec(
            "durations",
            "Durations and history JSON carried between runs (actions/cache or an artifact); "
            "plan and run read it, merge rewrites it. Keep one per test layer.",
            default="test-durations.json",
        ),
        InputSpec(
            "shards",
            "plan: number of shards (default: enough for `target` per shard); "
            "run: the total number of shards.",
        ),
        InputSpec("shard", "run: this shard's index, from 1 to `shards`."),
        InputSpec(
            "keep-together",
            "plan/run: none places single tests; class keeps each class's tests (and each "
            "module's plain functions) in one shard, module each module's, so their fixtures "
            "set up once; a group heavier than an eighth of a shard is still split. With "
            "module and a durations history, the modules are placed before collection and a "
            "shard imports only its own. Give plan and every shard the same value.",
            default="none",
        ),
        InputSpec(
            "target",
            "plan: the wanted time per shard when `shards` is empty (in the slowest matrix cell "
            "of the last merge).",
            default="5m",
        ),
        InputSpec("max-shards", "plan: the most shards to choose (1 to 256).", default="8"),
        InputSpec(
            "python-versions",
            "plan: Python versions for the matrix, comma separated "
            "(default: from the project's classifiers or requires-python).",
        ),
        InputSpec(
            "os",
            "plan: runner labels for the matrix, comma separated: Linux or macOS runners "
            "(windows-* labels are refused: the action's set-up needs a POSIX system).",
            default="ubuntu-latest",
        ),
        InputSpec(
            "results",
            "Directory of shard reports: run writes to it, merge reads all shards from it.",
            default="test-results",
        ),
        InputSpec(
            "label",
            "run: name of this matrix cell besides the shard (e.g. py3.12-ubuntu), so reports "
            "of several cells do not collide (letters, digits, '.', '_' and '-').",
        ),
        InputSpec(
            "matrix",
            "merge: the plan's matrix output, so that a matrix cell whose shards uploaded no "
            "report blocks the merge too (without it only a cell's missing shards are seen).",
        ),
        InputSpec("reruns", "How many times a failing test is rerun (0 to 10).", default="2"),
        InputSpec(
            "flaky",
            "What a test that failed, then passed on a rerun, does: warn or fail (a shard run "
            "with fail makes merge fail on it too).",
            default="warn",
        ),
        InputSpec(
            "quarantine",
            "Quarantine register (YAML); listed tests run but their failures do not block. "
            "Give merge the register the shards ran with.",
        ),
        InputSpec(
            "release-after",
            "Consecutive passing runs after which a quarantined test is ready to release.",
            default="10",
        ),
        InputSpec(
            "coverage",
            "Measure coverage with coverage.py from the project's environment.",
            default="false",
        ),
        InputSpec(
            "coverage-threshold",
            "merge: lowest total coverage percentage that passes (empty: the project's own "
            "coverage fail_under if it sets one, else report only).",
        ),
        InputSpec(
            "timeout",
            "Time allowed for the shard's pytest runs together (the first, then each rerun "
            "round in what is left), e.g. 30m.",
            default="60m",
        ),
    ),
    outputs=(
        OutputSpec("matrix", "plan: JSON for strategy.matrix with python, os and shard."),
        OutputSpec("shards", "plan: the number of shards."),
        OutputSpec("python-versions", "plan: JSON list of Python versions."),
        OutputSpec(
            "estimated-seconds",
            "plan: the longest shard's estimated time, in the slowest matrix cell of the last "
            "merge.",
        ),
        OutputSpec(
            "tests",
            "plan: number of tests collected; run: number of tests run; merge: number of "
            "distinct tests run (a test run in several matrix cells counts once).",
        ),
        OutputSpec("passed", "run/merge: tests that passed first time, xpassed ones included."),
        OutputSpec(
            "failed",
            "run/merge: tests that failed every attempt (quarantined excluded); merge: in some "
            "matrix cell, or failed first and then skipped when the job ran again.",
        ),
        OutputSpec("skipped", "run/merge: skipped tests, xfailed ones included (an xpass passed)."),
        OutputSpec("flaky", "run/merge: tests that passed only on a rerun (not quarantined)."),
        OutputSpec(
            "quarantined", "run/merge: quarantined tests that failed or were flaky, not blocking."
        ),
        OutputSpec("coverage", "merge: total coverage percentage, when measured."),
        OutputSpec(
            "junit",
            "run: path of the first attempt's JUnit XML (reruns beside it in -rerunN.xml); "
            "merge: the checked junit.xml of all shards, each test as merge judged it (a flaky "
            "one's failure as flakyFailure, or flakyError where pytest filed an error, a quarantined failure as a skip of type "
            "shipline.quarantined).",
        ),
        OutputSpec("durations", "merge: path of the updated durations file."),
        OutputSpec("outcome", "pass or fail."),
    ),
    extra="test",
    positional="mode",
    icon="grid",
)
