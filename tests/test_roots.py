"""The root harness (tools/roots.py): mirrors read from apt sources, and
throwaway roots that leave nothing behind, even when their caller is killed.

The run tests use the host's own / as the cached root (run_in_root takes a
directory): they test the namespaces and the overlay, not mmdebstrap, and
need no root to be built. `make test-fresh` builds and uses a real one.
"""

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tools"))

import roots  # noqa: E402
from support import require_commands, require_root  # noqa: E402


@pytest.fixture
def can_enter_roots():
    require_root("enters namespaces and mounts")
    require_commands("unshare", "setpriv", "ip")


def test_deb822_sources_give_each_uri_and_suite():
    text = textwrap.dedent("""\
        Types: deb deb-src
        # a comment
        URIs: http://mirror.example/debian
        Suites: bookworm bookworm-updates
        Components: main contrib
        Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

        Types: deb-src
        URIs: http://src.example/debian
        Suites: bookworm
        Components: main

        Types: deb
        URIs: http://off.example/debian
        Suites: bookworm
        Components: main
        Enabled: no
        """)
    assert roots.parse_deb822(text) == [
        ("http://mirror.example/debian", "bookworm", ("main", "contrib")),
        ("http://mirror.example/debian", "bookworm-updates", ("main", "contrib")),
    ]


def test_one_line_sources_ignore_options_comments_and_deb_src():
    text = ("deb [arch=amd64 signed-by=/k.gpg] http://m.example/debian bookworm main\n"
            "# deb http://commented.example/debian bookworm main\n"
            "deb-src http://m.example/debian bookworm main\n"
            "deb http://s.example/debian-security bookworm-security main non-free  # x\n")
    assert roots.parse_one_line(text) == [
        ("http://m.example/debian", "bookworm", ("main",)),
        ("http://s.example/debian-security", "bookworm-security", ("main", "non-free")),
    ]


def test_mirror_lines_move_the_hosts_sources_to_another_suite(monkeypatch):
    monkeypatch.setattr(roots, "host_codename", lambda: "bookworm")
    monkeypatch.setattr(roots, "apt_sources", lambda: [
        ("http://m.example/debian", "bookworm", ("main",)),
        ("http://m.example/debian", "bookworm-updates", ("main",)),
        ("http://s.example/debian-security", "bookworm-security", ("main",)),
        ("http://other.example/apt", "stable", ("main",)),
    ])
    assert roots.mirror_lines("bullseye") == [
        "deb http://m.example/debian bullseye main",
        "deb http://m.example/debian bullseye-updates main",
        "deb http://s.example/debian-security bullseye-security main",
    ]
    assert roots.mirror_lines("bullseye", pockets=("", "-updates")) == [
        "deb http://m.example/debian bullseye main",
        "deb http://m.example/debian bullseye-updates main",
    ]


def test_no_mirror_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(roots, "apt_sources", lambda: [])
    with pytest.raises(roots.RootError, match="no Debian mirror"):
        roots.mirror_lines("bookworm")


def test_the_recipe_key_changes_with_the_packages():
    one = roots.Recipe("x", "bookworm", ["git"], "minbase")
    assert one.key() == roots.Recipe("x", "bookworm", ["git"], "minbase").key()
    assert one.key() != roots.Recipe("x", "bookworm", ["git", "make"], "minbase").key()
    assert one.directory().endswith("/x-" + one.key())


def test_a_missing_mmdebstrap_names_the_package(monkeypatch):
    monkeypatch.setattr(roots.shutil, "which", lambda name: None)
    monkeypatch.setattr(roots, "CACHE", tempfile.mkdtemp())
    with pytest.raises(roots.RootError, match="Debian package 'mmdebstrap'"):
        roots.cached_root(roots.Recipe("x", "bookworm", []))


def test_a_run_is_private_writable_and_throwaway(can_enter_roots):
    with tempfile.TemporaryDirectory() as shared:
        script = ("echo $$; hostname; touch /usr/thrown-away; ls /usr/thrown-away; "
                  "echo out > /shared/file; grep -c ' /sys .*ro,' /proc/self/mountinfo; "
                  "unshare --mount --propagation private true && echo nested-ok")
        result = roots.run_in_root("/", ["sh", "-c", script], hostname="box",
                                   binds=[(shared, "/shared", False)], timeout=60)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["2", "box", "/usr/thrown-away", "1", "nested-ok"]
        with open(os.path.join(shared, "file")) as f:
            assert f.read() == "out\n"
    assert not os.path.exists("/usr/thrown-away")


def test_read_only_binds_and_exit_status(can_enter_roots):
    with tempfile.TemporaryDirectory() as shared:
        result = roots.run_in_root("/", ["sh", "-c", "touch /ro/x; exit 3"],
                                   binds=[(shared, "/ro", True)], timeout=60)
        assert result.returncode == 3
        assert "Read-only file system" in result.stderr
        assert os.listdir(shared) == []


def test_private_net_has_only_loopback(can_enter_roots):
    result = roots.run_in_root("/", ["ip", "-o", "link"], private_net=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert [line.split(":")[1].strip() for line in result.stdout.splitlines()] == ["lo"]


def command_lines():
    """(pid, command line as bytes) of every process."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                yield int(pid), f.read()
        except (FileNotFoundError, ProcessLookupError):
            pass


def processes_with(text):
    """Pids of the processes whose command line contains text."""
    return [pid for pid, line in command_lines() if text.encode() in line]


def sleepers(marker):
    """Pids of the processes renamed `marker` (exec -a)."""
    return [pid for pid, line in command_lines() if line.startswith(marker.encode() + b"\0")]


def test_a_killed_caller_leaves_nothing_mounted_or_running(can_enter_roots):
    """SIGKILL the process that called run_in_root while a daemon-like
    child runs inside: no process of the root and no mount survive."""
    marker = "roots-test-sleeper-%d" % os.getpid()
    with open("/proc/self/mountinfo") as f:
        mounts_before = f.read()
    with tempfile.TemporaryDirectory() as shared:
        caller = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""\
            import sys
            sys.path.insert(0, %r)
            import roots
            roots.run_in_root("/", ["bash", "-c", "(exec -a %s sleep 300 &); touch /s/ready; "
                                    "exec -a %s sleep 300"], binds=[(%r, "/s", False)])
            """ % (os.path.join(REPO, "tools"), marker, marker, shared))])
        deadline = time.monotonic() + 30
        while not os.path.exists(os.path.join(shared, "ready")):
            assert caller.poll() is None and time.monotonic() < deadline, "the root never started"
            time.sleep(0.05)
        while len(sleepers(marker)) < 2:
            assert time.monotonic() < deadline, "the root's processes never started"
            time.sleep(0.05)
        caller.send_signal(signal.SIGKILL)
        caller.wait()
        deadline = time.monotonic() + 10
        while processes_with(marker) or processes_with(shared):
            assert time.monotonic() < deadline, "processes of the root survived its caller"
            time.sleep(0.05)
    with open("/proc/self/mountinfo") as f:
        assert f.read() == mounts_before


def test_joining_the_mount_namespace_lands_in_the_root(can_enter_roots):
    """nsenter (as the cluster harness does) sees the root, not the host:
    the root is the namespace's own, not a chroot."""
    script = ("touch /roots-marker && nsenter --mount=/proc/1/ns/mnt -- "
              "test -e /roots-marker && echo inside")
    result = roots.run_in_root("/", ["sh", "-c", script], timeout=60)
    assert result.stdout == "inside\n", result.stderr
    assert not os.path.exists("/roots-marker")
