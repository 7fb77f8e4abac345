"""Helpers shared by the test suites (one import name: `support`): what
the simulator's request log says, waiting, the loopback proxy's
configuration, and the packages tests need."""

import os
import re
import shutil
import socket
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"

# Every command a test or a target it runs needs -> its Debian package. Each
# package is in DEB_DEPS (tests/test_requirements.py checks it).
COMMAND_PACKAGES = {
    "corosync": "corosync", "pacemakerd": "pacemaker", "pcs": "pcs",
    "stonith_admin": "pacemaker-cli-utils", "crm_resource": "pacemaker-cli-utils",
    "cibadmin": "pacemaker-cli-utils", "cibsecret": "pacemaker-cli-utils", "tinyproxy": "tinyproxy", "curl": "curl",
    "openssl": "openssl", "unshare": "util-linux", "nsenter": "util-linux",
    "runuser": "util-linux", "setpriv": "util-linux", "ip": "iproute2", "ps": "procps",
    "xmllint": "libxml2-utils", "xsltproc": "xsltproc", "man": "man-db",
    "lintian": "lintian", "dpkg-deb": "dpkg", "fakeroot": "fakeroot", "rpm": "rpm",
    "rpmbuild": "rpm", "rpmspec": "rpm", "make": "make", "git": "git",
    "mmdebstrap": "mmdebstrap", "crm": "crmsh",
}


POWER_POST = re.compile(r"^/v2/operations/[^/]+/servers/(?P<op>[^/]+)/?$", re.IGNORECASE)
LOGIN_PATH = "/authentication/login"


def request_log(source):
    """The simulator's request log: from a simulator, or the log itself."""
    return source.requests() if hasattr(source, "requests") else source


def power_posts(source, op=None):
    """The power POSTs (powerOff, powerOn, reset, ...) in a request log,
    only those of operation `op` when given."""
    posts = []
    for entry in request_log(source):
        match = POWER_POST.match(entry["path"]) if entry["method"] == "POST" else None
        if match and (op is None or match.group("op") == op):
            posts.append(entry)
    return posts


def power_operations(source):
    """The operations (powerOff, ...) of the power POSTs, in order."""
    return [POWER_POST.match(entry["path"]).group("op") for entry in power_posts(source)]


def logins(source):
    return [entry for entry in request_log(source) if entry["path"].endswith(LOGIN_PATH)]


def wait_until(predicate, timeout, interval=0.1, what="condition"):
    """Polls; returns the first true value or raises TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


# tinyproxy as the tests run it: loopback only, a log of what went through.
TINYPROXY_CONF = """\
Port {port}
Listen 127.0.0.1
Timeout 30
LogFile "{log}"
LogLevel Info
MaxClients 20
Allow 127.0.0.1
DisableViaHeader Yes
"""

# A shell line that starts a name server on loopback that takes every
# question and never answers (for a private network namespace).
SILENT_NAME_SERVER = ("/usr/bin/python3 -c 'import socket, time\n"
                      "udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                      "udp.bind((\"127.0.0.1\", 53))\ntcp = socket.socket()\n"
                      "tcp.bind((\"127.0.0.1\", 53))\ntcp.listen(8)\ntime.sleep(3600)' &\n"
                      "sleep 0.5")


class RefusingProxy:
    """An HTTP proxy on loopback that answers every request, CONNECT too,
    with 403 Forbidden (as a proxy whose ACL does not allow the API)."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.url = "http://127.0.0.1:%d" % self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                client = self.listener.accept()[0]
            except OSError:
                return
            with client:
                client.recv(65536)
                client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n"
                               b"Connection: close\r\n\r\n")

    def close(self):
        self.listener.close()


def missing_packages(*commands):
    """The Debian packages of those commands that are not on the system PATH."""
    return sorted({COMMAND_PACKAGES[command] for command in commands
                   if not shutil.which(command, path=SYSTEM_PATH)})


def require_commands(*commands):
    """Fail (never skip) the calling test when a command is missing, naming
    the Debian packages to install."""
    import pytest  # here: the cluster harness also runs inside roots without pytest
    missing = missing_packages(*commands)
    if missing:
        pytest.fail("Debian packages missing: %s (run make deps)" % " ".join(missing),
                    pytrace=False)


def require_root(why):
    import pytest
    if os.geteuid() != 0:
        pytest.fail("needs root: %s (the README runs make test as root)" % why, pytrace=False)


def makefile_list(name):
    """A package list of the Makefile (`NAME := a b $(OTHER) ...`), with
    the lists it names expanded."""
    with open(os.path.join(REPO, "Makefile")) as f:
        text = f.read()
    value = re.search(r"^%s\s*:=((?:.*\\\n)*.*)$" % name, text, re.M).group(1)
    words = []
    for word in value.replace("\\\n", " ").split():
        reference = re.match(r"^\$\((\w+)\)$", word)
        words += makefile_list(reference.group(1)) if reference else [word]
    return words


def deb_deps():
    """DEB_DEPS of the Makefile: the packages `make deps` installs."""
    return makefile_list("DEB_DEPS")
