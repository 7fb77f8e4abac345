"""Results of the benchmark: rows of (goal, measured, ratio, pass/fail),
printed as a table and saved as JSON for tracking."""

import dataclasses
import json
import platform
import time
import typing


@dataclasses.dataclass
class Row:
    """One measured figure. passed is None for figures without a goal."""
    measure: str
    goal: str
    measured: str
    ratio: typing.Optional[float] = None
    passed: typing.Optional[bool] = None
    detail: str = ""
    values: dict = dataclasses.field(default_factory=dict)

    def verdict(self):
        return {True: "pass", False: "FAIL", None: "info"}[self.passed]

    def as_dict(self):
        return dict(dataclasses.asdict(self), result=self.verdict())


@dataclasses.dataclass
class Section:
    key: str
    title: str
    rows: list
    notes: list = dataclasses.field(default_factory=list)

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
        json.dump(data, f, indent=1)    # in report order, not sorted: easier to read
        f.write("\n")
