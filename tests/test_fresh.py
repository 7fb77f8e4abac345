"""make test-fresh's reading of the README and of the test run's output."""

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tools"))

import fresh_root  # noqa: E402


def test_the_quick_start_is_the_readmes_block_as_written():
    with open(os.path.join(REPO, "README.md")) as f:
        commands = fresh_root.quick_start(f.read())
    assert [line.split()[:2] for line in commands] == [["make", "demo"], ["make", "test"]]
    assert all("#" in line for line in commands)  # comments and all


def test_quick_start_takes_only_the_first_block_of_its_section():
    readme = ("# x\n\n## Quick start\n\nText:\n\n    make a   # one\n    make b\n\n"
              "More text.\n\n    not this\n\n## Next\n\n    nor this\n")
    assert fresh_root.quick_start(readme) == ["make a   # one", "make b"]


def test_the_pytest_summary_and_skip_lines_are_found():
    log = ("+ make test\n....\nskipped: 0\n"
           "===== 3 failed, 599 passed, 2 xfailed in 400.12s (0:06:40) =====\n")
    assert fresh_root.pytest_summary(log) == (
        "3 failed, 599 passed, 2 xfailed in 400.12s (0:06:40)", "skipped: 0")


def test_a_run_without_summary_gives_none():
    assert fresh_root.pytest_summary("make: *** [deps] Error 100\n") == (None, None)


def test_the_packages_are_recorded_right_after_make_demo():
    script = fresh_root.inside_script(["make demo     # the demo", "make test"]).splitlines()
    recorded = script.index("make demo     # the demo") + 1
    assert script[recorded].startswith("dpkg-query ") and fresh_root.AFTER_DEMO in script[recorded]
    assert script[recorded + 1] == "make test"


def test_a_test_package_installed_by_make_demo_is_named():
    after_demo = "ii  fence-agents\nii  pacemaker\nrc  gcc\nii  python3-pycurl\n"
    assert fresh_root.installed_by_the_demo_wrongly(after_demo) == ["pacemaker"]
    assert fresh_root.installed_by_the_demo_wrongly("ii  fence-agents\nii  openssl\n") == []
