"""The ``lint`` action: ruff, ruff format, mypy, and optionally hadolint and zizmor."""
