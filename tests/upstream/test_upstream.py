"""The patch `make upstream` writes, proved the way upstream would: applied
to ClusterLabs fence-agents' tree, built and checked there with its own
`make check`, installed into a DESTDIR, then the INSTALLED agent run against
the simulator, by hand and by upstream's scenario runner
(tests/fence_testing.py with tests/actions.d) in its three input modes.

Run by `make test-upstream`, not by `make test`. It needs the upstream tree
(../shared/upstream): without it this module is skipped with that reason, and
fails in CI (CI=true), where it must run. Logs: build/test-upstream/."""

import os
import re
import shutil
import stat
import subprocess
import time

import pytest

from agentrun import REPO, SYSTEM_PYTHON, agent_env, run_agent, secrets_found

TARBALL = os.environ.get("FENCE_AGENTS_TARBALL", os.path.join(
    os.path.dirname(REPO), "shared", "upstream", "fence-agents-main.tar.gz"))
PATCH = os.path.join(REPO, "build", "upstream", "0001-fence_clc-new-fence-agent.patch")
RESULTS = os.path.join(REPO, "build", "test-upstream")
TREE_VERSION = "4.17.0.99"  # what tools/upstream.py and we write to .tarball-version

USER, PASSWORD, ACCOUNT = "admin@acct", "s3cret-Passw0rd", "ACCT"  # the simulator's default world
SERVER = "UC1ACCTWEB01"
ACTIONS = ("status", "power-on-off", "list", "sleep")  # upstream's tests/actions.d
METHODS = ("stdin", "getopt", "longopt")


@pytest.fixture(scope="module", autouse=True)
def upstream_tree_present():
    """Without the upstream tree: a named skip, and a failure in CI."""
    if os.path.isfile(TARBALL):
        return
    message = ("upstream tree not found: %s (the project's shared material, ../shared/upstream; "
               "or set FENCE_AGENTS_TARBALL)" % TARBALL)
    if os.environ.get("CI") == "true":
        pytest.fail(message + " - CI must run the upstream tests", pytrace=False)
    pytest.skip(message)


def step(command, cwd, log, env=None, check=True):
    """One build step, its output appended to log; returns (rc, output)."""
    started = time.monotonic()
    result = subprocess.run(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True, env=dict(os.environ, **(env or {})))
    with open(log, "a") as f:
        f.write("$ %s   (%.1f s, exit %d)\n%s" % (" ".join(command), time.monotonic() - started,
                                                  result.returncode, result.stdout))
    if check and result.returncode != 0:
        pytest.fail("%s failed (exit %d); see %s:\n%s" % (
            " ".join(command), result.returncode, log, result.stdout[-3000:]), pytrace=False)
    return result.returncode, result.stdout


class Tree(object):
    def __init__(self, path, state_dir, log):
        self.path = path
        self.state_dir = state_dir  # configured as upstream's FENCETMPDIR
        self.log = log


@pytest.fixture(scope="module")
def patch():
    """The patch, freshly written by `make upstream`."""
    if os.path.isdir(RESULTS):
        shutil.rmtree(RESULTS)
    os.makedirs(RESULTS)
    step(["make", "-C", REPO, "--no-print-directory", "upstream", "PYTHON=" + SYSTEM_PYTHON],
         REPO, os.path.join(RESULTS, "make-upstream.log"))
    return PATCH


@pytest.fixture(scope="module")
def tree(patch, tmp_path_factory):
    """Upstream's pristine tree with the patch applied (git apply --check,
    then git apply), configured as a distribution does for this one agent
    and built. State files go to a private FENCETMPDIR."""
    work = str(tmp_path_factory.mktemp("upstream"))
    log = os.path.join(RESULTS, "build.log")
    subprocess.check_call(["tar", "-xzf", TARBALL, "-C", work])
    path = os.path.join(work, "fence-agents")
    step(["git", "apply", "--check", "-v", patch], path, log)
    step(["git", "apply", "-v", patch], path, log)
    with open(os.path.join(path, ".tarball-version"), "w") as f:
        f.write(TREE_VERSION + "\n")
    state_dir = os.path.join(work, "state")
    step(["./autogen.sh"], path, log)
    step(["./configure", "--prefix=/usr", "--sysconfdir=/etc", "--localstatedir=/var",
          "--with-fencetmpdir=" + state_dir, "--with-agents=clc"], path, log,
         env={"PYTHON": SYSTEM_PYTHON})
    step(["make"], path, log)
    return Tree(path, state_dir, log)


class Installed(object):
    def __init__(self, root, state_dir):
        self.root = root
        self.agent = os.path.join(root, "usr", "sbin", "fence_clc")
        self.library = os.path.join(root, "usr", "share", "fence")
        self.state_dir = state_dir
        # The agent looks for the library where it will be installed
        # (/usr/share/fence); here that is inside the DESTDIR.
        self.env = agent_env(extra={"PYTHONPATH": self.library})


@pytest.fixture(scope="module")
def installed(tree, tmp_path_factory):
    root = str(tmp_path_factory.mktemp("destdir"))
    step(["make", "install", "DESTDIR=" + root], tree.path, tree.log)
    return Installed(root, tree.state_dir)


# ------------------------------------------------------------------ upstream's checks

def test_patch_adds_exactly_the_three_files(patch):
    with open(patch) as f:
        text = f.read()
    assert re.findall(r"^diff --git a/(\S+) ", text, re.M) == [
        "agents/clc/fence_clc.py", "fence-agents.spec.in", "tests/data/metadata/fence_clc.xml"]
    assert re.search(r"^Subject: \[PATCH\] fence_clc: new fence agent$", text, re.M)


def test_make_check_passes_with_each_check_run_for_fence_clc(tree):
    log = os.path.join(RESULTS, "make-check.log")
    started = time.monotonic()
    rc, output = step(["make", "check"], tree.path, log, check=False)
    seconds = time.monotonic() - started
    assert rc == 0, "make check failed; see %s:\n%s" % (log, output[-3000:])
    # make echoes each recipe: every check must have run for this agent
    recipes = output.split("for x in ")
    checks = {"xml-check": "diff $TEMPFILE", "delay-check": "delay=10",
              "rng-check": "fence2rng.xsl"}
    for name, mark in checks.items():
        assert any(r.startswith("fence_clc ") and mark in r for r in recipes), name
    assert seconds >= 10, "the delay-check's 10 s delay did not happen"


def test_xml_check_fails_on_metadata_that_differs(tree):
    """The xml-check compares for real: a metadata file with one line less fails it."""
    metadata = os.path.join(tree.path, "tests", "data", "metadata", "fence_clc.xml")
    with open(metadata) as f:
        original = f.read()
    try:
        with open(metadata, "w") as f:
            one_line_less = re.sub(r"<vendor-url>.*</vendor-url>\n", "", original)
            assert one_line_less != original
            f.write(one_line_less)
        rc, _ = step(["make", "-C", "agents", "clc/fence_clc.xml-check"], tree.path, tree.log,
                     check=False)
        assert rc != 0
    finally:
        with open(metadata, "w") as f:
            f.write(original)


def test_spec_defines_the_subpackage_and_fence_agents_all_requires_it(tree):
    step(["make", "fence-agents.spec"], tree.path, tree.log)
    spec = os.path.join(tree.path, "fence-agents.spec")
    _, names = step(["rpmspec", "-q", "--qf", "%{name}\\n", spec], tree.path, tree.log)
    assert "fence-agents-clc" in names.split()
    _, requires = step(["rpmspec", "-q", "--requires", spec], tree.path, tree.log)
    assert "fence-agents-clc" in requires.split()


# ------------------------------------------------------------------ the installed agent

def test_installed_agent_is_upstreams_build(installed):
    with open(installed.agent) as f:
        text = f.read()
    assert text.startswith("#!%s -tt\n" % SYSTEM_PYTHON)
    assert 'sys.path.append("/usr/share/fence")' in text
    assert 'DEFAULT_TOKEN_FILE = "%s/fence_clc/[hash].token"' % installed.state_dir in text
    assert os.stat(installed.agent).st_mode & stat.S_IXUSR
    assert os.path.isfile(os.path.join(installed.root, "usr", "share", "man", "man8",
                                       "fence_clc.8"))
    # -V shows the version of the library it runs with: the DESTDIR's
    result = run_agent(["-V"], agent=installed.agent, env=installed.env)
    assert (result.rc, result.stdout.strip()) == (0, TREE_VERSION), result


def fence(installed, sim, action):
    return run_agent(["-o", action, "--api-url", sim.url, "--cacert", sim.ca_file,
                      "-l", USER, "-p", PASSWORD, "-n", SERVER],
                     agent=installed.agent, env=installed.env)


def no_secret_in(result, sim):
    return not secrets_found([result.stdout, result.stderr], [PASSWORD] + sim.issued_tokens())


@pytest.mark.parametrize("initial, action, rc, final", [
    ("started", "status", 0, "started"),
    ("stopped", "status", 2, "stopped"),
    ("started", "off", 0, "stopped"),
    ("stopped", "on", 0, "started"),
    ("started", "reboot", 0, "started"),
])
def test_installed_agent_against_the_simulator(installed, sim_factory, initial, action, rc, final):
    sim = sim_factory(tls=True)
    sim.set_server(SERVER, powerState=initial)
    result = fence(installed, sim, action)
    assert result.rc == rc, result
    assert sim.server(SERVER)["powerState"] == final
    if action == "reboot":
        states = [state for _, state in sim.server(SERVER)["power_history"]]
        assert states[-2:] == ["stopped", "started"], states
    assert no_secret_in(result, sim)


def test_installed_agent_lists_the_account(installed, sim_factory):
    sim = sim_factory(tls=True)
    result = fence(installed, sim, "list")
    assert result.rc == 0, result
    listed = {line.split(",")[0] for line in result.stdout.splitlines()}
    assert {"uc1acctweb01", "uc1acctweb02", "uc1acctdb01", "va1acctapp01"} <= listed, result


def test_installed_agent_caches_its_token_in_upstreams_state_dir(installed, sim_factory):
    sim = sim_factory(tls=True)
    assert fence(installed, sim, "status").rc == 0
    cache_dir = os.path.join(installed.state_dir, "fence_clc")
    tokens = [name for name in os.listdir(cache_dir) if name.endswith(".token")]
    assert tokens, os.listdir(cache_dir)
    for name in tokens:
        assert stat.S_IMODE(os.stat(os.path.join(cache_dir, name)).st_mode) == 0o600


# ------------------------------------------------------------------ upstream's scenario runner

DEVICE = """\
name = "CenturyLink Cloud (CLC) API simulator"
agent = "{agent}"
[options]
	login = [ "{user}", "--username", "-l" ]
	passwd = [ "{password}", "--password", "-p" ]
	port = [ "{server}", "--plug", "-n" ]
	account = [ "{account}", "--account", "-y" ]
	api_url = [ "{url}", "--api-url" ]
	cacert = [ "{cacert}", "--cacert" ]
"""

# fence_testing.py has no command line. verbose=True: its quiet mode hides
# the output with "&>", which /bin/sh reads as "run in the background".
SCENARIO = ("import sys, fence_testing; "
            "fence_testing.test_action(sys.argv[1], sys.argv[2], sys.argv[3], verbose=True)")


def write_device(tree, installed, sim, password=PASSWORD):
    path = os.path.join(tree.path, "tests", "devices.d", "clc.cfg")
    with open(path, "w") as f:
        f.write(DEVICE.format(agent=installed.agent, user=USER, password=password,
                              server=SERVER, account=ACCOUNT, url=sim.url, cacert=sim.ca_file))
    return path


def run_scenario(tree, installed, device, action, method):
    """Upstream's runner: its verdict line (TEST PASSED / TEST FAILED) and output."""
    tests = os.path.join(tree.path, "tests")
    started = time.monotonic()
    result = subprocess.run([SYSTEM_PYTHON, "-c", SCENARIO, device,
                             os.path.join("actions.d", action + ".cfg"), method],
                            cwd=tests, env=installed.env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True, timeout=300)
    verdicts = re.findall(r"^TEST (PASSED|FAILED): .*$", result.stdout, re.M)
    with open(os.path.join(RESULTS, "scenarios.txt"), "a") as f:
        f.write("%-12s %-8s %s (%.1f s)\n" % (action, method, " ".join(verdicts) or "NO VERDICT",
                                             time.monotonic() - started))
    return verdicts, result.stdout


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("action", ACTIONS)
def test_fence_testing_scenario(tree, installed, sim_factory, action, method):
    sim = sim_factory(tls=True)
    device = write_device(tree, installed, sim)
    verdicts, output = run_scenario(tree, installed, device, action, method)
    assert verdicts == ["PASSED"], output
    if action == "power-on-off":  # its last step expects status 2: really off
        assert sim.server(SERVER)["powerState"] == "stopped"
    if action == "list":
        assert "uc1acctweb01," in output
    assert not secrets_found([output], sim.issued_tokens())


def test_fence_testing_reports_a_failing_agent(tree, installed, sim_factory):
    """The runner as we use it can fail: a wrong password fails the status scenario."""
    sim = sim_factory(tls=True)
    device = write_device(tree, installed, sim, password="wrong-Passw0rd")
    verdicts, output = run_scenario(tree, installed, device, "status", "longopt")
    assert verdicts == ["FAILED"], output
    assert "TEST INFO: status returns 1\n" in output  # the agent's "login rejected"
