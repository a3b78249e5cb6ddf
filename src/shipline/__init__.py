"""shipline: GitHub Actions that take one change of a Python service from commit to production."""

__version__ = "0.1.0"
