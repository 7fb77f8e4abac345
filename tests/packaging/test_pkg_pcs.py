"""After installation pcs finds the agent and shows its options, and
Pacemaker's user can read its metadata. The installed tree is overlaid on
/usr/sbin inside a private mount namespace: the host stays untouched."""

import os

import pytest

from pkgbuild import METADATA, SHORTDESC, run

# Run a command with ROOT/usr/sbin laid over /usr/sbin, from / so that any
# user may run it.
OVERLAY_SBIN = ('mount -t overlay overlay -o lowerdir="$1/usr/sbin:/usr/sbin" /usr/sbin'
                ' && shift && cd / && exec "$@"')


def with_installed_agent(root, *command):
    return run(["unshare", "--mount", "--propagation", "private",
                "sh", "-c", OVERLAY_SBIN, "sh", root] + list(command))


@pytest.fixture(params=["make install", "dpkg -i"])
def installed_root(request):
    """Each way an admin installs the agent."""
    fixture = {"make install": "installed_tree", "dpkg -i": "deb_installed_root"}
    return request.getfixturevalue(fixture[request.param])


def test_pcs_stonith_list_shows_the_agent(installed_root):
    listed = with_installed_agent(installed_root, "pcs", "stonith", "list", "fence_clc")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [SHORTDESC]


def test_pcs_stonith_describe_shows_its_options(installed_root):
    described = with_installed_agent(installed_root, "pcs", "stonith", "describe", "fence_clc")
    assert described.returncode == 0, described.stderr
    assert described.stdout.startswith(SHORTDESC)
    options = {line.split(":")[0].strip() for line in described.stdout.splitlines()
               if line.startswith("  ")}
    assert {"api_url", "switch", "token_file", "plug", "account", "cacert", "proxy",
            "power_timeout", "username (required)"} <= options


def test_hacluster_reads_the_metadata(installed_tree):
    """pacemaker-fenced asks for metadata as user hacluster."""
    metadata = with_installed_agent(installed_tree, "runuser", "-u", "hacluster", "--",
                                    "/usr/sbin/fence_clc", "-o", "metadata")
    assert metadata.returncode == 0, metadata.stderr
    with open(METADATA) as f:
        assert metadata.stdout == f.read()


@pytest.mark.skipif(os.path.exists("/usr/sbin/fence_clc"),
                    reason="fence_clc is installed on this host")
def test_pcs_does_not_know_the_agent_before_installation():
    """The control for the tests above: without the overlay, no fence_clc."""
    described = run(["pcs", "stonith", "describe", "fence_clc"])
    assert described.returncode != 0
    assert "fence_clc" in described.stderr
