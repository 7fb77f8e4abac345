"""Results of the benchmark: rows of (goal, measured, ratio, pass/fail),
printed as a table and saved as JSON for tracking."""

import json
import platform
import time


class Row(object):
    """One measured figure. passed is None for figures without a goal."""

    def __init__(self, measure, goal, measured, ratio=None, passed=None, detail="", values=None):
        self.measure = measure
        self.goal = goal
        self.measured = measured
        self.ratio = ratio
        self.passed = passed
        self.detail = detail
        self.values = values or {}

    def verdict(self):
        return {True: "pass", False: "FAIL", None: "info"}[self.passed]

    def as_dict(self):
        return {"measure": self.measure, "goal": self.goal, "measured": self.measured,
                "ratio": self.ratio, "result": self.verdict(), "detail": self.detail,
                "values": self.values}


class Section(object):
    def __init__(self, key, title, rows, notes=()):
        self.key = key
        self.title = title
        self.rows = rows
        self.notes = list(notes)

    def as_dict(self):
        return {"title": self.title, "rows": [row.as_dict() for row in self.rows],
                "notes": self.notes}


COLUMNS = (("measure", 34), ("goal", 26), ("measured", 34), ("ratio", 6), ("result", 6))


def format_ratio(ratio):
    return "" if ratio is None else "%.2f" % ratio


def table_lines(section):
    lines = ["", "== %s ==" % section.title,
             "  ".join(name.ljust(width) for name, width in COLUMNS).rstrip()]
    for row in section.rows:
        cells = (row.measure, row.goal, row.measured, format_ratio(row.ratio), row.verdict())
        lines.append("  ".join(cell.ljust(width) for cell, (_, width) in zip(cells, COLUMNS)).rstrip())
        if row.detail:
            lines.append("    " + row.detail)
    lines.extend("  note: " + note for note in section.notes)
    return lines


def print_report(sections, settings):
    print("fence_clc benchmark - %s" % settings.describe())
    for section in sections:
        print("\n".join(table_lines(section)))
    rows = [row for section in sections for row in section.rows]
    failed = [row.measure for row in rows if row.passed is False]
    print("\n%d goals met, %d missed%s" % (
        sum(1 for row in rows if row.passed), len(failed),
        (": " + "; ".join(failed)) if failed else ""))


def write_json(path, sections, settings, seconds):
    data = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host": platform.node(),
            "python": platform.python_version(), "bench_seconds": round(seconds, 1),
            "settings": settings.as_dict(),
            "sections": {section.key: section.as_dict() for section in sections}}
    with open(path, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")
