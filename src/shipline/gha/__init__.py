"""The GitHub Actions runtime contract: inputs in; outputs, summaries and workflow commands out.

Inside a runner (``GITHUB_ACTIONS=true``) everything speaks the runner's file and
workflow-command protocols; on a terminal the same calls print readable lines, so an
action behaves the same from a laptop, from CI and under act.
"""
