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


# What an admin reads in `pcs stonith describe`, option by option: a phrase
# each text must hold (pcs shows only these texts, no defaults).
DESCRIBED = {
    "account": ["default: the login's own account"],
    "proxy": ["unset or 'none'", "direct"],
    "api_url": ["set it", "retired"],
    "cacert": ["the system's trust store"],
    "power_timeout": ["Deadline", "whole action"],
    "monitor_timeout": ["Deadline", "below Pacemaker's monitor timeout"],
    "login_timeout": ["Connect timeout", "seconds"],
    "shell_timeout": ["Total timeout", "seconds"],
    "plug": ["CLC server id", "pcmk_host_map"],
    "switch": ["device's own VM", "overrides plug", "never with pcmk_host_map"],
    "missing_as_off": ["404", "monitor still fails"],
    "token_file": ["'none'"],
    "stonith_status_sleep": ["Ignored:", "own schedule"],
    "disable_timeout": ["Ignored:", "keeps its timeouts"],
    "username (required)": ["CLC user", "login"],
    "password": ["CLC user", "passwd"],
}
# Long enough for a line of a terminal next to the option's name.
MAX_TEXT = 100


def test_pcs_stonith_describe_tells_the_admin_what_each_option_does(installed_root):
    described = with_installed_agent(installed_root, "pcs", "stonith", "describe", "fence_clc")
    assert described.returncode == 0, described.stderr
    texts = dict(line.strip().split(": ", 1) for line in described.stdout.splitlines()
                 if line.startswith("  ") and ": " in line)
    for name, phrases in DESCRIBED.items():
        for phrase in phrases:
            assert phrase in texts.get(name, ""), (name, texts.get(name))
        assert len(texts[name]) <= MAX_TEXT, (name, texts[name])
    # the names to use; the older login/passwd are not offered
    assert not {"login", "login (required)", "passwd", "plug (required)"} & set(texts)
    description = " ".join(described.stdout.split("Stonith options:")[0].split())
    for phrase in ("CLC server id", "pcmk_host_map", "pcmk_host_check=static-list",
                   "Never combine switch with pcmk_host_map", "set api_url",
                   "/run/fence-agents/fence_clc/"):
        assert phrase in description
    for leftover in ("Power Fencing agent", "the older switch option"):
        assert leftover not in description


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
