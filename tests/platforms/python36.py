"""RHEL 8's Python: a real 3.6 with pycurl and pexpect in a cached venv.

The interpreter comes from $FENCE_CLC_PYTHON36, else `python3.6` on PATH,
else pyenv's versions (`pyenv root`). pycurl is built from PyPI against
libcurl4-openssl-dev; the venv is built once per interpreter and pins, under
/var/cache, and reused by every later run.
"""

import fcntl
import glob
import os
import shutil
import subprocess

CACHE = os.environ.get("FENCE_CLC_CACHE", "/var/cache/fence-clc")
# The last releases that build and run on 3.6 (what RHEL 8 users pair with 4.2.1).
PINS = ("pycurl==7.45.2", "pexpect==4.8.0", "ptyprocess==0.7.0")
BUILD_PACKAGES = "libcurl4-openssl-dev libssl-dev gcc"


def runs_36(python):
    try:
        out = subprocess.run([python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             universal_newlines=True, timeout=30)
    except OSError:
        return None
    version = out.stdout.strip()
    return version if out.returncode == 0 and version.startswith("3.6.") else None


def pyenv_pythons():
    try:
        root = subprocess.run(["pyenv", "root"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              universal_newlines=True, timeout=30).stdout.strip()
    except OSError:
        return []
    return sorted(glob.glob(os.path.join(root, "versions", "3.6*", "bin", "python3.6")), reverse=True)


def find_python36():
    """(path, version) of a working Python 3.6, or (None, why not)."""
    override = os.environ.get("FENCE_CLC_PYTHON36")
    candidates = [override] if override else (
        [shutil.which("python3.6")] + pyenv_pythons())
    for python in filter(None, candidates):
        version = runs_36(python)
        if version:
            return python, version
    where = "$FENCE_CLC_PYTHON36" if override else "PATH or pyenv"
    return None, "no Python 3.6 found (%s); set FENCE_CLC_PYTHON36 to one" % where


def cached_venv(python, version):
    """The venv's interpreter; built once under CACHE (locked, atomic)."""
    name = "py%s-%s" % (version, "-".join(pin.replace("==", "") for pin in PINS))
    final = os.path.join(CACHE, "venvs", name)
    python_in_venv = os.path.join(final, "bin", "python")
    os.makedirs(os.path.dirname(final), exist_ok=True)
    with open(final + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(python_in_venv):
            return python_in_venv
        building = final + ".building"
        shutil.rmtree(building, ignore_errors=True)
        subprocess.run([python, "-m", "venv", building], check=True)
        pip = subprocess.run(
            [os.path.join(building, "bin", "python"), "-m", "pip", "install", "-q",
             "--disable-pip-version-check"] + list(PINS),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        if pip.returncode != 0:
            shutil.rmtree(building, ignore_errors=True)
            raise RuntimeError("building pycurl/pexpect for Python %s failed (Debian packages "
                               "needed: %s):\n%s" % (version, BUILD_PACKAGES, pip.stdout[-3000:]))
        os.rename(building, final)  # a venv's interpreter finds its site-packages from its path
        return python_in_venv
