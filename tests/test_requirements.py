"""`make deps` installs everything the tests and targets use: a missing
package fails here by name instead of skipping tests elsewhere."""

import subprocess

from support import COMMAND_PACKAGES, deb_deps


def installed(package):
    status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            universal_newlines=True).stdout
    return status == "install ok installed"


def test_every_package_a_test_needs_is_in_deb_deps():
    assert sorted(set(COMMAND_PACKAGES.values()) - set(deb_deps())) == []


def test_deb_deps_are_installed():
    missing = [package for package in deb_deps() if not installed(package)]
    assert missing == [], "Debian packages missing: %s (run make deps)" % " ".join(missing)
