"""Helpers shared by the test suites (one import name: `support`)."""

import os
import re
import shutil

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"

# Every command a test or a target it runs needs -> its Debian package. Each
# package is in DEB_DEPS (tests/test_requirements.py checks it).
COMMAND_PACKAGES = {
    "corosync": "corosync", "pacemakerd": "pacemaker", "pcs": "pcs",
    "stonith_admin": "pacemaker-cli-utils", "crm_resource": "pacemaker-cli-utils",
    "cibadmin": "pacemaker-cli-utils", "tinyproxy": "tinyproxy", "curl": "curl",
    "openssl": "openssl", "unshare": "util-linux", "nsenter": "util-linux",
    "runuser": "util-linux", "setpriv": "util-linux", "ip": "iproute2", "ps": "procps",
    "xmllint": "libxml2-utils", "xsltproc": "xsltproc", "man": "man-db",
    "lintian": "lintian", "dpkg-deb": "dpkg", "fakeroot": "fakeroot", "rpm": "rpm",
    "rpmbuild": "rpm", "rpmspec": "rpm", "make": "make", "git": "git",
    "mmdebstrap": "mmdebstrap",
}


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


def deb_deps():
    """DEB_DEPS of the Makefile: the packages `make deps` installs."""
    with open(os.path.join(REPO, "Makefile")) as f:
        text = f.read()
    value = re.search(r"^DEB_DEPS\s*:=((?:.*\\\n)*.*)$", text, re.M).group(1)
    return value.replace("\\\n", " ").split()
