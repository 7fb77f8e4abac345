"""Fixtures for the packaging tests: the real Makefile targets, each run into
private directories so that tests can run in parallel with anything else."""

import os
import re

import pytest

from agentrun import AGENT
from pkgbuild import DEPENDENCIES, dpkg, dpkg_scratch_root, run_make


@pytest.fixture(scope="session")
def release_version():
    with open(AGENT) as f:
        return re.search(r'^RELEASE_VERSION = "(.+)"$', f.read(), re.M).group(1)


@pytest.fixture(scope="module")
def installed_tree(tmp_path_factory):
    """A tree laid out by `make install DESTDIR=... PREFIX=/usr`."""
    root = str(tmp_path_factory.mktemp("destdir"))
    run_make("install", "DESTDIR=" + root, "PREFIX=/usr")
    return root


@pytest.fixture(scope="module")
def deb_file(tmp_path_factory):
    """The path of the package `make deb` built."""
    work = tmp_path_factory.mktemp("deb")
    output = run_make("deb", "BUILDDIR=%s" % (work / "build"), "DISTDIR=%s" % (work / "dist"))
    debs = [line for line in output.splitlines() if line.endswith(".deb")]
    assert len(debs) == 1 and os.path.isfile(debs[0]), output
    return debs[0]


@pytest.fixture(scope="module")
def rpm_files(tmp_path_factory):
    """{'noarch': path, 'src': path} of the packages `make rpm` built."""
    work = tmp_path_factory.mktemp("rpm")
    output = run_make("rpm", "BUILDDIR=%s" % (work / "build"), "DISTDIR=%s" % (work / "dist"))
    rpms = [line for line in output.splitlines() if line.endswith(".rpm")]
    by_kind = {path.rsplit(".", 2)[1]: path for path in rpms}
    assert sorted(by_kind) == ["noarch", "src"], output
    return by_kind


@pytest.fixture(scope="module")
def deb_installed_root(deb_file, tmp_path_factory):
    """A scratch root into which dpkg installed the package."""
    root = dpkg_scratch_root(tmp_path_factory.mktemp("debroot"), installed=DEPENDENCIES)
    result = dpkg(root, "-i", deb_file)
    assert result.returncode == 0, result.stdout + result.stderr
    return root
