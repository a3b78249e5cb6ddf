"""A fake GitHub (REST + two GraphQL mutations) backed by a real bare git repository."""

from tests.fakes.github.server import FakeGitHub, Fault

__all__ = ["FakeGitHub", "Fault"]
