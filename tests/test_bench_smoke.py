"""`make bench` cannot rot: the whole benchmark at tiny sizes, without
latency. Its goals are not asserted (timings on a loaded test machine say
nothing); only that every section runs, measures and lands in the JSON."""

import json
import os
import subprocess

from agentrun import REPO, SYSTEM_PYTHON

SECTIONS = {"time_to_fence": "1. Time to fence", "requests": "2. Requests per action",
            "startup": "3. Start-up", "scale": "4. Scale", "concurrency": "5. Concurrency"}
VERDICTS = {"pass", "FAIL", "info"}


def run_smoke_bench(output):
    return subprocess.run([SYSTEM_PYTHON, os.path.join(REPO, "bench", "run_bench.py"),
                           "--smoke", "--output", output],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=120)


def test_smoke_bench_prints_and_saves_every_section(tmp_path):
    output = str(tmp_path / "results.json")
    proc = run_smoke_bench(output)
    assert proc.returncode == 0, proc.stderr
    for title in SECTIONS.values():
        assert "== " + title in proc.stdout
    assert "goals met" in proc.stdout
    with open(output) as f:
        results = json.load(f)
    assert set(results["sections"]) == set(SECTIONS)
    for key, section in results["sections"].items():
        assert section["title"].startswith(SECTIONS[key])
        assert section["rows"], key
        for row in section["rows"]:
            assert row["measured"] and row["result"] in VERDICTS, row
            assert row["values"], row
