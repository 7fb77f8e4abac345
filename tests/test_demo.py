"""The README's first command must keep working: run the demo itself."""

import os
import subprocess

from agentrun import REPO, SENTINEL_PASSWORD, SYSTEM_PYTHON


def test_demo_fences_a_simulated_vm_and_hides_the_password():
    proc = subprocess.run([SYSTEM_PYTHON, os.path.join(REPO, "demo", "run_demo.py")],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=90)
    assert proc.returncode == 0, proc.stdout
    assert "Demo finished as expected." in proc.stdout
    assert "Success: Powered OFF" in proc.stdout and "is stopped" in proc.stdout
    assert SENTINEL_PASSWORD not in proc.stdout
