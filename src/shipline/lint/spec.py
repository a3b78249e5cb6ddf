"""Inputs and outputs of the ``lint`` action (kept equal to actions/lint/action.yml by a test)."""

from shipline.gha.inputs import ActionSpec, InputSpec, OutputSpec

SPEC = ActionSpec(
    name="lint",
    description="Lint and type-check a Python project: ruff, ruff format, mypy, "
    "optionally hadolint and zizmor; annotations, job summary and SARIF.",
    inputs=(
        InputSpec("path", "Project directory, inside the workspace.", default="."),
        InputSpec("ruff", "Run `ruff check` with the project's configuration.", default="true"),
        InputSpec("ruff-format", "Run `ruff format --check`.", default="true"),
        InputSpec("mypy", "Run mypy with the project's configuration.", default="true"),
        InputSpec(
            "python",
            "Interpreter whose packages mypy resolves imports against "
            "(default: the project's .venv if it has one).",
        ),
        InputSpec(
            "hadolint",
            "Run hadolint on the project's Dockerfiles: true, false or auto "
            "(auto runs it when a Dockerfile exists).",
            default="auto",
        ),
        InputSpec(
            "dockerfiles",
            "Dockerfiles for hadolint, comma or newline separated (default: found in the project).",
        ),
        InputSpec(
            "zizmor",
            "Run zizmor (offline) on the workflow directory: true, false or auto "
            "(auto runs it when the directory exists).",
            default="false",
        ),
        InputSpec(
            "workflows",
            "Directory of GitHub workflows or actions for zizmor.",
            default=".github/workflows",
        ),
        InputSpec(
            "fail-on", "Lowest level that fails the step: error, warning or never.", default="error"
        ),
        InputSpec("sarif", "Write a SARIF 2.1.0 report to this path for code scanning."),
        InputSpec("timeout", "Time allowed for each tool, e.g. 300s or 10m.", default="10m"),
    ),
    outputs=(
        OutputSpec("errors", "Number of error-level findings."),
        OutputSpec("warnings", "Number of warning-level findings."),
        OutputSpec("notes", "Number of note-level findings."),
        OutputSpec("findings", "Total number of findings."),
        OutputSpec("sarif", "Path of the SARIF report, when one was written."),
        OutputSpec("outcome", "pass or fail, by the fail-on threshold."),
    ),
    extra="lint",
    icon="check-circle",
)
