"""No silent skips: a skip whose reason is not in the allowed list fails the
run, and the run says how many tests were skipped and why."""

import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def run_suite(tmp_path, body, workers=("-p", "no:xdist")):
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["skip_policy"]\n')
    (tmp_path / "test_x.py").write_text("import pytest\n\n" + body)
    env = dict(os.environ, PYTHONPATH=HERE)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *workers, str(tmp_path)], cwd=str(tmp_path), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=60)


@pytest.mark.parametrize("workers", [("-p", "no:xdist"), ("-n", "2")], ids=["serial", "xdist"])
def test_an_unexplained_skip_fails_the_run(tmp_path, workers):
    result = run_suite(tmp_path, "def test_a():\n    pytest.skip('lintian is not installed')\n",
                       workers)
    assert result.returncode == 1, result.stdout
    assert "skipped: 1 (lintian is not installed: 1)" in result.stdout
    assert "NOT ALLOWED to skip: 'lintian is not installed'" in result.stdout


@pytest.mark.parametrize("body", [
    "def test_a():\n    pytest.skip('fence_clc is installed on this host')\n",
    "@pytest.mark.skipif(True, reason='fence_clc is installed on this host')\n"
    "def test_a():\n    pass\n",
])
def test_an_allowed_skip_is_counted_and_passes(tmp_path, body):
    result = run_suite(tmp_path, body + "\n\ndef test_b():\n    pass\n")
    assert result.returncode == 0, result.stdout
    assert "skipped: 1 (fence_clc is installed on this host: 1)" in result.stdout


def test_no_skip_says_zero_and_strict_xfail_is_not_a_skip(tmp_path):
    result = run_suite(tmp_path, "@pytest.mark.xfail(strict=True, reason='known bug')\n"
                                 "def test_a():\n    assert False\n")
    assert result.returncode == 0, result.stdout
    assert "skipped: 0\n" in result.stdout
