"""Fixtures for the report tests (helpers live in report_fixtures.py, a unique module name)."""

from report_fixtures import result  # noqa: F401
