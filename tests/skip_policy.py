"""No silent skips: a pytest plugin that fails the run when a test is
skipped for a reason not in ALLOWED_SKIPS, and prints how many tests were
skipped and why ("skipped: N (...)").

A missing tool or package is not a reason to skip: such a test fails and
names the Debian package (support.require_commands). Only the optional cases
below may skip, each matched by the start of its reason.

Registered by tests/conftest.py (pytest_plugins); under xdist the controller
counts and judges, from the reports the workers send it."""

import collections

import pytest

PLUGIN_NAME = "skip-policy"

# Start of an allowed skip reason -> why that case is optional.
ALLOWED_SKIPS = {
    "fence_clc is installed on this host":
        "the pcs control test needs a host without the agent in /usr/sbin",
    "platform row without its material in this clone":
        "make test-platforms' RHEL 8/9 and main rows need the project's shared fencing "
        "libraries and a Python 3.6; CI sets FENCE_CLC_REQUIRE_PLATFORMS=1: they fail there",
}


def allowed(reason):
    return any(reason.startswith(start) for start in ALLOWED_SKIPS)


def skip_reason(report):
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason[len("Skipped: "):] if reason.startswith("Skipped: ") else reason


def pytest_configure(config):
    if not config.pluginmanager.has_plugin(PLUGIN_NAME):
        config.pluginmanager.register(SkipPolicy(config), PLUGIN_NAME)


class SkipPolicy:
    def __init__(self, config):
        self.judge = not hasattr(config, "workerinput")  # not on xdist workers
        self.reasons = collections.Counter()

    def pytest_runtest_logreport(self, report):
        if report.skipped and not hasattr(report, "wasxfail"):
            self.reasons[skip_reason(report)] += 1

    def unexplained(self):
        return sorted(reason for reason in self.reasons if not allowed(reason))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session):
        if self.judge and self.unexplained() and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter):
        if not self.judge:
            return
        total = sum(self.reasons.values())
        detail = "; ".join("%s: %d" % (reason, count)
                           for reason, count in sorted(self.reasons.items()))
        terminalreporter.write_line("skipped: %d%s" % (total, " (%s)" % detail if total else ""))
        for reason in self.unexplained():
            terminalreporter.write_line(
                "NOT ALLOWED to skip: %r. A missing tool is a failure naming its package; "
                "an optional case goes into ALLOWED_SKIPS (tests/skip_policy.py)." % reason,
                red=True)
