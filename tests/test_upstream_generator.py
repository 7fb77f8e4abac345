"""tools/upstream.py without the upstream tree: the agent it generates from
fence_clc and the subpackage it adds to upstream's spec. The patch itself is
built, applied and checked by `make test-upstream` (tests/upstream)."""

import difflib
import importlib.util
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AGENT = os.path.join(REPO, "fence_clc")


def load_generator():
    spec = importlib.util.spec_from_file_location(
        "upstream_generator", os.path.join(REPO, "tools", "upstream.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


upstream = load_generator()

CONVENTION_LINES = {
    "#!@PYTHON@ -tt",
    'sys.path.append("@FENCEAGENTSLIBDIR@")',
    'DEFAULT_TOKEN_FILE = "@FENCETMPDIR@/fence_clc/[hash].token"',
}


def agent_source():
    with open(AGENT) as f:
        return f.read()


def changed_lines(old, new):
    diff = list(difflib.ndiff(old.splitlines(), new.splitlines()))
    return ([line[2:] for line in diff if line.startswith("- ")],
            [line[2:] for line in diff if line.startswith("+ ")])


def test_generated_agent_differs_only_by_upstream_conventions():
    source = agent_source()
    removed, added = changed_lines(source, upstream.upstream_agent(source))
    assert CONVENTION_LINES <= set(added)
    for line in set(added) - CONVENTION_LINES:
        # only a reference to a file of this project dropped from a comment
        assert any(line == old.replace(" (see README.md)", "").replace(" (see LICENSE)", "")
                   for old in removed), line
    for line in filter(None, removed):
        assert "RELEASE_VERSION" in line or "VERSION_GENERATION" in line or \
            line.startswith(("#!", "sys.path.append(", "DEFAULT_TOKEN_FILE = ", "#")), line


def test_generated_agent_has_no_version_of_its_own():
    text = upstream.upstream_agent(agent_source())
    assert "RELEASE_VERSION" not in text and "VERSION_GENERATION" not in text


def test_generated_agent_passes_pyflakes(tmp_path):
    path = tmp_path / "fence_clc.py"
    path.write_text(upstream.upstream_agent(agent_source()))
    result = subprocess.run([sys.executable, "-m", "pyflakes", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("change, named", [
    (('sys.path.append("/usr/share/fence")', 'sys.path.insert(0, "/usr/share/fence")'),
     "library path"),
    (('DEFAULT_TOKEN_FILE = "', 'DEFAULT_TOKEN_PATH = "'), "token cache default"),
    (("import pycurl\n", 'import pycurl\nSTATE = "/var/lib/fence_clc"\n'), "state path"),
])
def test_generator_names_what_it_cannot_convert(change, named):
    source = agent_source()
    assert change[0] in source
    with pytest.raises(upstream.GeneratorError, match=named):
        upstream.upstream_agent(source.replace(change[0], change[1], 1))


SPEC = """\
%global allfenceagents %(cat <<EOF
fence-agents-cdu \\\\
fence-agents-cisco-ucs \\\\
fence-agents-cyberpower-ssh \\\\
fence-virt \\\\

EOF)

%package common
Summary: Common base

%package cisco-ucs
Summary: Fence agent for Cisco UCS series
%description cisco-ucs
Fence agent for Cisco UCS.
%files cisco-ucs
%{_sbindir}/fence_cisco_ucs

%ifarch x86_64 ppc64le
%package compute
Summary: Fence agent for Nova compute nodes
%files compute
%{_sbindir}/fence_compute
%endif

%package -n fence-virt
Summary: A pluggable fencing framework for virtual machines
"""


def test_subpackage_goes_in_alphabetical_place():
    spec = upstream.add_subpackage(SPEC, "Fence agent for CenturyLink Cloud (CLC)")
    lines = spec.splitlines()
    assert lines[2:5] == ["fence-agents-cisco-ucs \\\\", "fence-agents-clc \\\\",
                          "fence-agents-cyberpower-ssh \\\\"]
    stanza = lines.index("%package clc")
    assert lines[stanza - 2:stanza] == ["%{_sbindir}/fence_cisco_ucs", ""]
    assert "Summary: Fence agent for CenturyLink Cloud (CLC)" in lines[stanza:stanza + 4]
    assert "Requires: python3-pycurl" in lines[stanza:stanza + 6]
    assert lines[lines.index("%files clc") + 1:lines.index("%files clc") + 4] == [
        "%{_sbindir}/fence_clc", "%{_mandir}/man8/fence_clc.8*", ""]
    assert lines[lines.index("%files clc") + 4] == "%ifarch x86_64 ppc64le"


def test_subpackage_is_added_once():
    spec = upstream.add_subpackage(SPEC, "CLC")
    with pytest.raises(upstream.GeneratorError, match="already has a clc subpackage"):
        upstream.add_subpackage(spec, "CLC")
