#!/usr/bin/python3
"""make test-fresh: the README's quick start on a fresh Debian 12, as a new
user runs it.

A minimal Debian 12 root (tools/roots.py, recipe debian12-fresh: apt, git,
make, ca-certificates, sudo; no Python, no package lists) gets a clone of
the committed tree (never the working tree's uncommitted or ignored files),
then the commands of the README's "Quick start" block exactly as written,
as root, in a throwaway copy of the root in private namespaces.

Fails when a command fails, when the test run inside reports no summary,
or when anything was skipped for a reason the allowed list does not name
(the test run itself enforces that list: tests/skip_policy.py).

Downloaded .deb files are kept between runs (a cache bound over the root's
/var/cache/apt/archives): apt still fetches fresh package lists and
installs every package, only the downloads are reused.
"""

import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import roots  # noqa: E402

RECIPE = roots.RECIPES["debian12-fresh"]
APT_ARCHIVES = os.path.join(os.path.dirname(roots.CACHE), "apt-archives", RECIPE.name)
CLONE = "/root/fence_clc"
TIMEOUT = 45 * 60
# Packages of the tests and the build that make demo must not install (several
# start services on a systemd host).
NOT_FOR_THE_DEMO = ("pacemaker", "corosync", "pcs", "tinyproxy", "gcc", "mmdebstrap", "rpm",
                    "lintian", "autoconf")
AFTER_DEMO = "/out/packages-after-demo.txt"
SUMMARY = re.compile(r"^=* ?(\d+ (failed|passed|error|errors|skipped|xfailed|xpassed)\b.*)$")


def quick_start(readme_text):
    """The commands of the README's first indented block under "## Quick
    start", without their indentation."""
    section = readme_text.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"((?:^    .*\n)+)", section, re.M)
    if not block:
        raise SystemExit("README.md: no indented command block under '## Quick start'")
    return [line[4:] for line in block.group(1).splitlines()]


def inside_script(commands):
    """What runs in the root: clone, then each quick-start line as written;
    after `make demo`, the list of installed packages is recorded."""
    lines = ["set -e", "git -c advice.detachedHead=false clone -q /src/fence_clc.bundle %s" % CLONE, "cd " + CLONE,
             "git log --oneline -1", "set -x"]
    for command in commands:
        lines.append(command)
        if command.split("#")[0].split() == ["make", "demo"]:
            lines.append("dpkg-query -W -f='${db:Status-Abbrev} ${Package}\\n' > %s" % AFTER_DEMO)
    return "\n".join(lines) + "\n"


def installed_by_the_demo_wrongly(packages_text):
    """The packages of NOT_FOR_THE_DEMO installed after make demo."""
    installed = {line.split()[-1] for line in packages_text.splitlines() if line.startswith("ii")}
    return sorted(installed.intersection(NOT_FOR_THE_DEMO))


def bundle_head(workdir):
    """The committed HEAD as a git bundle a clone can start from."""
    dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                           stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
    if dirty:
        print("fresh: uncommitted changes are not part of this run (it tests HEAD)")
    path = os.path.join(workdir, "fence_clc.bundle")
    subprocess.run(["git", "-C", REPO, "bundle", "create", "-q", path, "HEAD"], check=True)
    return path


def pytest_summary(log_text):
    """The last pytest summary line and the skip-policy line of the log."""
    summary = skipped = None
    for line in log_text.splitlines():
        line = re.sub(r"\x1b\[[0-9;]*m", "", line).strip()
        if SUMMARY.match(line) and " in " in line:
            summary = SUMMARY.match(line).group(1).rstrip("= ")
        if line.startswith("skipped: "):
            skipped = line
    return summary, skipped


def main():
    started = time.monotonic()
    try:
        root = roots.cached_root(RECIPE)
    except roots.RootError as error:
        sys.exit("fresh: %s" % error)
    built = time.monotonic()
    print("fresh: root %s ready in %.0f s" % (os.path.basename(root), built - started))
    with open(os.path.join(REPO, "README.md")) as f:
        commands = quick_start(f.read())
    print("fresh: quick start from README.md:\n    " + "\n    ".join(commands))
    os.makedirs(APT_ARCHIVES, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fence-clc-fresh-") as workdir:
        bundle_head(workdir)
        with open(os.path.join(workdir, "quick-start.sh"), "w") as f:
            f.write(inside_script(commands))
        out = os.path.join(workdir, "out")
        os.mkdir(out)
        # The pipeline ends when tee has written everything: the run's PID 1
        # waits for bash, and bash for both sides.
        shell = "bash /src/quick-start.sh 2>&1 | tee /out/run.log; exit ${PIPESTATUS[0]}"
        result = roots.run_in_root(
            RECIPE, ["bash", "-c", shell],
            binds=[(workdir, "/src", True), (out, "/out", False),
                   (APT_ARCHIVES, "/var/cache/apt/archives", False)],
            env={"DEBIAN_FRONTEND": "noninteractive", "TERM": "dumb"},
            timeout=TIMEOUT, capture=False)
        with open(os.path.join(out, "run.log")) as f:
            summary, skipped = pytest_summary(f.read())
        after_demo = os.path.join(out, os.path.basename(AFTER_DEMO))
        if os.path.exists(after_demo):
            with open(after_demo) as f:
                wrong = installed_by_the_demo_wrongly(f.read())
        else:
            wrong = ["(no record after make demo)"]
    seconds = time.monotonic() - built
    print("fresh: in the fresh root: %s" % (summary or "no pytest summary"))
    print("fresh: %s" % (skipped or "no skip report"))
    print("fresh: make demo installed %s" % (", ".join(wrong) + " - only DEMO_DEPS are its"
                                            if wrong else "none of the tests' packages"))
    print("fresh: quick start and tests took %.0f s (root %.0f s)" % (seconds, built - started))
    if result.returncode != 0 or summary is None or skipped is None or wrong:
        sys.exit("fresh: FAILED (exit %d)" % result.returncode)
    print("fresh: passed")


if __name__ == "__main__":
    main()
