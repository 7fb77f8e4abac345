"""make deb: a package dpkg installs next to the distribution's fence agents
and removes without a trace. Installed into scratch roots, never the host."""

import gzip
import os

import pytest

from agentrun import REPO
from pkgbuild import DEPENDENCIES, dpkg, dpkg_scratch_root, files_under, run
from support import require_commands

PAYLOAD = sorted(["usr/sbin/fence_clc",
           "usr/share/doc/fence-clc/README.md.gz",
           "usr/share/doc/fence-clc/changelog.Debian.gz",
           "usr/share/doc/fence-clc/copyright",
           "usr/share/man/man8/fence_clc.8.gz"])


def field(deb, name):
    return run(["dpkg-deb", "--field", deb, name]).stdout.strip()


def test_control_fields(deb_file, release_version):
    assert field(deb_file, "Package") == "fence-clc"
    assert field(deb_file, "Version") == release_version + "-1"
    assert field(deb_file, "Architecture") == "all"
    assert field(deb_file, "Depends") == \
        "fence-agents (>= 4.2) | fence-agents-common, python3, python3-pycurl"
    assert os.path.basename(deb_file) == "fence-clc_%s-1_all.deb" % release_version


def test_contents_are_root_owned_with_sane_modes(deb_file):
    listing = run(["dpkg-deb", "--contents", deb_file]).stdout.splitlines()
    entries = {line.split()[-1].lstrip("./"): line.split()[:2] for line in listing}
    assert sorted(path for path, (perms, _) in entries.items()
                  if not perms.startswith("d")) == PAYLOAD
    assert {owner for _, owner in entries.values()} == {"root/root"}
    assert entries["usr/sbin/fence_clc"][0] == "-rwxr-xr-x"
    assert entries["usr/share/man/man8/fence_clc.8.gz"][0] == "-rw-r--r--"


def test_the_readme_is_the_operators_documentation_on_the_node(deb_file, tmp_path):
    run(["dpkg-deb", "-x", deb_file, str(tmp_path)])
    with gzip.open(str(tmp_path / "usr/share/doc/fence-clc/README.md.gz"), "rt") as f:
        shipped = f.read()
    with open(os.path.join(REPO, "README.md")) as f:
        assert shipped == f.read()


def test_dpkg_installs_then_removes_cleanly(deb_file, tmp_path):
    root = dpkg_scratch_root(tmp_path, installed=DEPENDENCIES)
    installed = dpkg(root, "-i", deb_file)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert files_under(root, skip={"var"}) == PAYLOAD
    assert "install ok installed" in dpkg(root, "-s", "fence-clc").stdout
    verified = dpkg(root, "--verify", "fence-clc")  # against the package's md5sums
    assert (verified.returncode, verified.stdout) == (0, "")
    agent = run([os.path.join(root, "usr/sbin/fence_clc"), "-o", "metadata"])
    assert agent.returncode == 0 and 'name="fence_clc"' in agent.stdout

    removed = dpkg(root, "-r", "fence-clc")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert files_under(root, skip={"var"}) == []
    assert os.listdir(root) == ["var"]
    assert dpkg(root, "-s", "fence-clc").returncode != 0  # not even config files left


@pytest.mark.parametrize("missing", ["fence-agents", "python3-pycurl"])
def test_dpkg_refuses_to_configure_without_a_dependency(deb_file, tmp_path, missing):
    root = dpkg_scratch_root(tmp_path, installed=[p for p in DEPENDENCIES if p != missing])
    result = dpkg(root, "-i", deb_file)
    assert result.returncode != 0
    assert "depends on %s" % missing in result.stderr
    assert "install ok unpacked" in dpkg(root, "-s", "fence-clc").stdout


def test_lintian_finds_nothing(deb_file):
    require_commands("lintian")
    # An ITP bug to close only matters for an upload to the Debian archive.
    result = run(["lintian", "--pedantic", "--suppress-tags",
                  "initial-upload-closes-no-bugs", deb_file])
    problems = [line for line in result.stdout.splitlines() if line[:2] in ("E:", "W:")]
    assert problems == [], result.stdout
