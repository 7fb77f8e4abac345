"""The reliability report: a pytest plugin that gathers what every agent run
of the reliability tests recorded (on xdist workers too, through the test
reports' user_properties) and prints the fault matrix with its totals at the
end of the run; also written to build/reliability/matrix.json.

Registered by this package's conftest when the run starts at tests/reliability,
and by `pytest_plugins = ["reliability.report"]` in tests/conftest.py for runs
of the whole suite (under xdist only the controller prints, and it loads only
the top-level conftest)."""

import json
import os

import pytest

from agentrun import REPO

PLUGIN_NAME = "reliability-report"
PROPERTY = "reliability_run"
REPORT_FILE = os.path.join(REPO, "build", "reliability", "matrix.json")
ACTION_COLUMNS = ("on", "off", "reboot-onoff", "reboot-cycle", "status", "list",
                  "list-status", "monitor")
PASS, FAIL, KNOWN_BUG, NOT_APPLICABLE = "✓", "✗", "bug", "–"
COUNTED = ("false_off", "traceback", "hang", "duplicate_posts", "resent_after_refusal")
TOTALS = (("cells", "cells"), ("false OFF", "false_off"), ("tracebacks", "traceback"),
          ("leaked secrets", "leaks"), ("hangs", "hang"), ("duplicate POSTs", "duplicate_posts"),
          ("re-sent after refusal", "resent_after_refusal"), ("hostile cases", "hostile"),
          ("agent runs", "runs"))


def pytest_configure(config):
    if not config.pluginmanager.has_plugin(PLUGIN_NAME):
        config.pluginmanager.register(Collector(), PLUGIN_NAME)


@pytest.fixture
def record_run(request):
    """record_run(record, kind, **more): hand one run's record to the report."""
    def record(data, kind="run", **more):
        request.node.user_properties.append((PROPERTY, dict(data, kind=kind, **more)))
    return record


class Collector:
    def __init__(self):
        self.runs = []

    def pytest_runtest_logreport(self, report):
        # The teardown report carries every property the test and its
        # fixtures recorded.
        if report.when != "teardown":
            return
        for name, value in report.user_properties:
            if name == PROPERTY:
                self.runs.append(dict(value, nodeid=report.nodeid))

    def pytest_terminal_summary(self, terminalreporter):
        if not self.runs:
            return
        cells = sorted((run for run in self.runs if run["kind"] == "cell"),
                       key=lambda cell: cell["order"])
        totals = totals_of(self.runs)
        known = totals_of([run for run in self.runs if run.get("known_bug")])
        lines = matrix_lines(cells) + slowest_lines(cells) if cells else []
        lines += other_run_lines(self.runs) + [totals_line(totals)]
        if known["runs"]:
            lines.append("of which in cells of known agent bugs (strict xfail): "
                         + totals_line(known))
        terminalreporter.section("fence_clc reliability matrix")
        for line in lines:
            terminalreporter.write_line(line)
        write_json(totals, known, self.runs)
        terminalreporter.write_line("(written to %s)" % os.path.relpath(REPORT_FILE, REPO))


def totals_of(runs):
    totals = dict.fromkeys(COUNTED + ("leaks", "runs"), 0)
    totals["cells"] = sum(1 for run in runs if run["kind"] == "cell")
    totals["hostile"] = sum(1 for run in runs if run["kind"] == "hostile")
    for run in runs:
        totals["runs"] += run.get("runs", 1)
        for key in COUNTED:
            totals[key] += int(run.get(key, 0))
        totals["leaks"] += len(run.get("leaks", ()))
    return totals


def totals_line(totals):
    return " | ".join("%s %d" % (label, totals[key]) for label, key in TOTALS)


def verdict(cell):
    if not cell["problems"]:
        return PASS
    return KNOWN_BUG if cell.get("known_bug") else FAIL


def matrix_lines(cells):
    """Rows: fault [input mode]; columns: actions."""
    rows, verdicts = [], {}
    for cell in cells:
        row = "%s [%s]" % (cell["fault"], cell["mode"])
        if row not in rows:
            rows.append(row)
        verdicts[(row, cell["action"])] = verdict(cell)
    width = max(len(row) for row in rows)
    header = "fault [input]".ljust(width) + " | " + " ".join(ACTION_COLUMNS)
    lines = [header, "-" * len(header)]
    for row in rows:
        marks = [verdicts.get((row, action), NOT_APPLICABLE).center(len(action))
                 for action in ACTION_COLUMNS]
        lines.append(row.ljust(width) + " | " + " ".join(marks))
    lines.append("%s pass, %s fail, %s known agent bug (strict xfail), %s not applicable"
                 % (PASS, FAIL, KNOWN_BUG, NOT_APPLICABLE))
    bugs = []
    for cell in cells:
        if not cell["problems"]:
            continue
        note = ""
        if cell.get("known_bug"):
            if cell["known_bug"] not in bugs:
                bugs.append(cell["known_bug"])
            note = " (agent bug %d)" % (bugs.index(cell["known_bug"]) + 1)
        lines.append("%s %s / %s [%s]: %s%s" % (verdict(cell), cell["fault"], cell["action"],
                                               cell["mode"], "; ".join(cell["problems"]), note))
    lines += ["agent bug %d: %s" % (number, bug) for number, bug in enumerate(bugs, 1)]
    return lines + [""]


def other_run_lines(runs):
    """One line per test that is not a matrix cell (fuzz, concurrency, delay)."""
    return ["%s: %d agent runs, %s" % (run["fault"], run.get("runs", 1),
                                       "ok" if not problem_counts(run) else problem_counts(run))
            for run in runs if run["kind"] != "cell"]


def problem_counts(run):
    counts = ["%s %d" % (key, int(run.get(key, 0))) for key in COUNTED[:-1] if run.get(key)]
    if run.get("leaks"):
        counts.append("leaks %d" % len(run["leaks"]))
    return ", ".join(counts)


def slowest_lines(cells):
    slowest = {}
    for cell in cells:
        action = cell["action"]
        slowest[action] = max(slowest.get(action, (0, 0)), (cell["seconds"], cell["bound"]))
    return ["slowest run per action (hang bound): " + ", ".join(
        "%s %.1f s (%.0f s)" % (action, *slowest[action])
        for action in ACTION_COLUMNS if action in slowest)]


def write_json(totals, known, runs):
    os.makedirs(os.path.dirname(REPORT_FILE), exist_ok=True)
    with open(REPORT_FILE, "w") as f:
        json.dump({"totals": totals, "known_agent_bugs": known, "runs": runs}, f,
                  indent=1, sort_keys=True, ensure_ascii=False)
