"""make rpm: packaging/fence-clc.spec builds with rpmbuild from a source
tarball, and the package installs into a scratch RPM root."""

import os

from agentrun import REPO
from pkgbuild import files_under, run

SPEC = os.path.join(REPO, "packaging", "fence-clc.spec")
BUILD_RPM = os.path.join(REPO, "packaging", "build-rpm")


def query(package_file, *args):
    return run(["rpm", "-qp"] + list(args) + [package_file]).stdout


def rpm_root(root, *args):
    # Debian's rpm keeps its database under $HOME: name one inside the root.
    return run(["rpm", "--root", root, "--dbpath", "/var/lib/rpm"] + list(args))


def test_spec_parses_and_matches_the_agent_version(release_version):
    parsed = run(["rpmspec", "-q", "--srpm", "--qf", "%{NAME} %{VERSION}", SPEC])
    assert parsed.returncode == 0, parsed.stderr
    assert parsed.stdout == "fence-clc " + release_version


def test_build_refuses_a_version_the_spec_does_not_have(tmp_path):
    result = run([BUILD_RPM, "0.0.1", str(tmp_path / "top"), str(tmp_path / "out")])
    assert result.returncode != 0
    assert "RELEASE_VERSION 0.0.1" in result.stderr
    assert not (tmp_path / "out").exists()


def test_package_metadata(rpm_files, release_version):
    noarch = rpm_files["noarch"]
    assert query(noarch, "--qf", "%{NAME} %{VERSION} %{ARCH}") == \
        "fence-clc %s noarch" % release_version
    requires = query(noarch, "--requires").splitlines()
    assert {"fence-agents-common", "python3-pycurl"} <= set(requires)
    assert query(rpm_files["src"], "--list").split() == \
        ["fence-clc-%s.tar.gz" % release_version, "fence-clc.spec"]


def test_files_land_where_fence_agents_live(rpm_files):
    files = query(rpm_files["noarch"], "--list").splitlines()
    assert "/usr/sbin/fence_clc" in files
    # compressed by the build host's brp-compress where it works (not Debian's)
    assert [f for f in files if f.startswith("/usr/share/man/man8/fence_clc.8")]


def test_rpm_installs_into_a_scratch_root_and_erases(rpm_files, tmp_path):
    root = str(tmp_path)
    assert rpm_root(root, "--initdb").returncode == 0
    refused = rpm_root(root, "-i", rpm_files["noarch"])
    assert refused.returncode != 0
    assert "fence-agents-common is needed" in refused.stderr
    assert "python3-pycurl is needed" in refused.stderr
    installed = rpm_root(root, "-i", "--nodeps", rpm_files["noarch"])
    assert installed.returncode == 0, installed.stderr
    files = files_under(root, skip={"var"})
    assert "usr/sbin/fence_clc" in files
    assert os.stat(os.path.join(root, "usr/sbin/fence_clc")).st_mode & 0o777 == 0o755
    with open(os.path.join(root, "usr/sbin/fence_clc")) as agent:
        assert agent.readline().startswith("#!/usr/bin/python3")

    erased = rpm_root(root, "-e", "fence-clc")
    assert erased.returncode == 0, erased.stderr
    assert files_under(root, skip={"var"}) == []
