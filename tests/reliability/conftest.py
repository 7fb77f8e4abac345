"""Fixtures of the reliability suite, and its report plugin."""

import pytest

from . import report


def pytest_configure(config):
    report.pytest_configure(config)


@pytest.fixture
def record_run(request):
    """record_run(record, kind, **more): hand one run's record to the report."""
    def record(data, kind="run", **more):
        request.node.user_properties.append((report.PROPERTY, dict(data, kind=kind, **more)))
    return record


@pytest.fixture(scope="session")
def proxy_url(loopback_proxy):
    return loopback_proxy.url
