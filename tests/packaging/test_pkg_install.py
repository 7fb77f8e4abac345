"""make install / uninstall lay the agent and its man page out where the
fence agents of the distribution live, honouring DESTDIR and PREFIX."""

import os
import re
import stat

from agentrun import AGENT

from pkgbuild import SHORTDESC, files_under, run, run_make
from support import require_commands

AGENT_PATH = "usr/sbin/fence_clc"
MAN_PATH = "usr/share/man/man8/fence_clc.8"


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_install_lays_out_agent_and_man_page(installed_tree):
    assert files_under(installed_tree) == [AGENT_PATH, MAN_PATH]
    assert mode(os.path.join(installed_tree, AGENT_PATH)) == 0o755
    assert mode(os.path.join(installed_tree, MAN_PATH)) == 0o644


def test_installed_agent_runs_and_names_itself(installed_tree):
    proc = run([os.path.join(installed_tree, AGENT_PATH), "-o", "metadata"])
    assert proc.returncode == 0
    assert '<resource-agent name="fence_clc"' in proc.stdout


def test_prefix_moves_everything(tmp_path):
    run_make("install", "DESTDIR=%s" % tmp_path, "PREFIX=/usr/local")
    assert files_under(str(tmp_path)) == ["usr/local/sbin/fence_clc",
                                          "usr/local/share/man/man8/fence_clc.8"]


def test_uninstall_removes_what_install_put(tmp_path):
    destdir = "DESTDIR=%s" % tmp_path
    run_make("install", destdir, "PREFIX=/usr")
    (tmp_path / "usr/sbin/fence_other").write_text("not ours")
    run_make("uninstall", destdir, "PREFIX=/usr")
    assert files_under(str(tmp_path)) == ["usr/sbin/fence_other"]


def test_man_page_renders_without_warnings(installed_tree):
    require_commands("man")
    proc = run(["man", "--warnings", "-l", os.path.join(installed_tree, MAN_PATH)],
               env=dict(os.environ, MANWIDTH="80"))
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    page = " ".join(proc.stdout.split())
    assert SHORTDESC in page
    for section in ("DESCRIPTION", "PARAMETERS", "ACTIONS", "STDIN PARAMETERS", "EXIT STATUS",
                    "EXAMPLES", "SEE ALSO"):
        assert "\n%s\n" % section in proc.stdout
    for option in ("--api-url=[url]", "--token-file=[path]", "-s, --switch=[id]",
                   "api_url", "token_file", "Default Value: https://api.ctl.io"):
        assert option in page
    lines = proc.stdout.strip().splitlines()
    header, footer = lines[0], lines[-1]
    assert header.split() == ["FENCE_CLC(8)", "Fence", "agents", "FENCE_CLC(8)"]
    assert footer.split()[:2] == ["fence_clc", release_version_of_agent()]
    for leftover in ("FENCE_AGENT", "2009", "The operational behavior of this is not known"):
        assert leftover not in proc.stdout


def man_entries(page):
    """{heading: text} of the PARAMETERS section of a rendered page: each
    option's getopt line, then its indented text up to a blank line."""
    section = page.split("\nPARAMETERS\n")[1].split("\nACTIONS\n")[0]
    entries = {}
    for block in section.strip("\n").split("\n\n"):
        heading, _, text = block.strip().partition("\n")
        entries[heading] = " ".join(text.split())
    return entries


def test_man_page_tells_the_admin_what_each_option_does(installed_tree):
    require_commands("man")
    proc = run(["man", "--nh", "-l", os.path.join(installed_tree, MAN_PATH)],
               env=dict(os.environ, MANWIDTH="80"))
    entries = man_entries(proc.stdout)
    for heading, phrases in {
            "-y, --account=[alias]": ["default: the login's own account"],
            "-x, --proxy=[url]": ["unset or 'none'"],
            "--api-url=[url]": ["set it", "retired"],
            "--power-timeout=[seconds]": ["whole action", "Default Value: 60"],
            "--monitor-timeout=[seconds]": ["below Pacemaker's monitor timeout"],
            "-s, --switch=[id]": ["overrides plug", "never with pcmk_host_map"],
            "--stonith-status-sleep=[seconds]": ["Ignored:"],
            "--disable-timeout=[true/false]": ["Ignored:"]}.items():
        for phrase in phrases:
            assert phrase in entries[heading], (heading, entries[heading])
    assert "always required" not in entries["-n, --plug=[id]"]
    assert "always required" in entries["-l, --username=[name]"]
    description = " ".join(proc.stdout.split("\nPARAMETERS\n")[0].split())
    assert "/run/fence-agents/fence_clc/" in description
    assert "www.ctl.io" not in description and "Vendor URL" not in description


def release_version_of_agent():
    with open(AGENT) as f:
        return re.search(r'^RELEASE_VERSION = "(.+)"$', f.read(), re.M).group(1)


def test_building_the_man_page_says_only_what_it_built():
    # -B: build it now, as a first make install does (no temporary name shown)
    assert run_make("-B", "man").splitlines() == ["built fence_clc.8"]
