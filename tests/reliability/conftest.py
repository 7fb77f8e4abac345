"""Fixtures of the reliability suite, and its report plugin."""

import pytest

from . import report


def pytest_configure(config):
    report.pytest_configure(config)


@pytest.fixture(scope="session")
def proxy_url(loopback_proxy):
    return loopback_proxy.url
