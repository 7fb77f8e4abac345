#!/usr/bin/python3
"""Debian roots for tests: built once with mmdebstrap, run as throwaway copies.

    Recipe(name, suite, packages, variant="apt", pockets=None)
        What to build: a Debian suite, an mmdebstrap variant, extra packages;
        pockets limits the host's sources to some suffixes ("" for the
        release, "-updates", "-security"), e.g. for an old release whose
        security archive the mirror no longer serves.
    cached_root(recipe) -> directory
        Builds the root once from the machine's own Debian mirror (read from
        its apt sources) into <cache>/<name>-<key>, key = a hash of the recipe.
        Built in a temporary directory and renamed; a lock serialises builds.
        /usr/sbin/policy-rc.d forbids starting daemons at install time. The
        machine's local certificate authorities (/usr/local/share/ca-certificates)
        are added, so HTTPS (pip) works inside as on the host.
    run_in_root(recipe_or_dir, argv, binds=(), env=None, private_net=False,
                timeout=None, cwd="/", input=None) -> CompletedProcess
        Runs argv in a writable, throwaway copy of the root: an overlay (the
        cached root below, a tmpfs above) in private mount, PID, IPC and UTS
        namespaces (and network with private_net), made the namespace's root
        with pivot_root (so nsenter into it lands inside too). Inside: /proc, /sys
        (read-only), a private /dev with its own ptys, tmpfs /dev/shm, /tmp
        and /run; binds are (host_path, path_in_root, read_only). The root
        is a mount point, so `unshare --propagation private` works inside.
        PID 1 of the namespace dies with the caller (even SIGKILLed), and the
        kernel then kills every process inside and drops every mount.

Command line (as root):
    tools/roots.py build NAME            build (or find) a recipe's root
    tools/roots.py run NAME -- CMD...    run a command in a throwaway copy
    tools/roots.py shell NAME            an interactive shell in one
    tools/roots.py list                  the recipes and their cache state
"""

import argparse
import collections
import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import nsutil  # noqa: E402

# Bump when the way roots are built changes: every cached root is rebuilt.
HARNESS_VERSION = "2"
CACHE = os.environ.get("FENCE_CLC_ROOT_CACHE", "/var/cache/fence-clc/roots")
# Mount point, in each run's private mount namespace, of that run's tmpfs.
SCRATCH = os.path.join(CACHE, ".scratch")
LOCAL_CA_DIR = "/usr/local/share/ca-certificates"
INSIDE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")


class Recipe(collections.namedtuple("Recipe", "name suite packages variant pockets")):
    """A root to build: mmdebstrap's variant ("apt", "minbase", ...) of a
    Debian suite, plus packages."""

    def __new__(cls, name, suite, packages, variant="apt", pockets=None):
        return super(Recipe, cls).__new__(cls, name, suite, tuple(packages), variant,
                                          None if pockets is None else tuple(pockets))

    def key(self):
        """Short hash of everything the built root depends on."""
        text = json.dumps([HARNESS_VERSION, self.suite, self.variant, sorted(self.packages),
                           mirror_lines(self.suite, self.pockets), local_ca_digest()])
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def directory(self):
        return os.path.join(CACHE, "%s-%s" % (self.name, self.key()))


RECIPES = {
    # A new user's machine: a debootstrap-style minimal Debian 12 with what
    # the README assumes (git to clone, make, sudo); no Python, no lists.
    "debian12-fresh": Recipe("debian12-fresh", "bookworm",
                             ["git", "make", "ca-certificates", "sudo"], "minbase"),
}


class RootError(RuntimeError):
    pass


# ---------------------------------------------------------------- mirrors

def host_codename():
    with open("/etc/os-release") as f:
        match = re.search(r"^VERSION_CODENAME=\"?([a-z]+)", f.read(), re.M)
    return match.group(1) if match else None


def apt_sources():
    """(uri, suite, components) of the host's enabled binary apt sources,
    from deb822 *.sources files and one-line sources.list files."""
    found = []
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        with open(path) as f:
            found += parse_deb822(f.read())
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        if os.path.exists(path):
            with open(path) as f:
                found += parse_one_line(f.read())
    return found


def parse_deb822(text):
    found = []
    for stanza in re.split(r"\n\s*\n", text):
        fields = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            name, value = line.split(":", 1)
            fields[name.strip().lower()] = value.split()
        if "deb" not in fields.get("types", []):
            continue
        if fields.get("enabled", ["yes"])[0].lower() == "no":
            continue
        for uri in fields.get("uris", []):
            for suite in fields.get("suites", []):
                found.append((uri, suite, tuple(fields.get("components", []))))
    return found


def parse_one_line(text):
    found = []
    for line in text.splitlines():
        line = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).split()
        if len(line) >= 3 and line[0] == "deb":
            found.append((line[1], line[2], tuple(line[3:])))
    return found


def mirror_lines(suite, pockets=None):
    """One-line apt sources for `suite` on the host's own mirrors: the host's
    sources of its own release, with its codename replaced by `suite`
    (bookworm-security -> bullseye-security)."""
    codename = host_codename()
    lines = []
    for uri, host_suite, components in apt_sources():
        if not codename or not (host_suite == codename or host_suite.startswith(codename + "-")):
            continue
        pocket = host_suite[len(codename):]  # "", "-updates", "-security"
        if pockets is not None and pocket not in pockets:
            continue
        line = "deb %s %s %s" % (uri, suite + pocket, " ".join(components))
        if line not in lines:
            lines.append(line)
    if not lines:
        raise RootError("no Debian mirror found in the apt sources (/etc/apt/sources.list, "
                        "/etc/apt/sources.list.d/) for release %s" % codename)
    return lines


def local_ca_digest():
    """The machine's local certificate authorities (a network that inspects
    HTTPS adds one) are copied into roots: a change rebuilds them."""
    digest = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(LOCAL_CA_DIR, "*.crt"))):
        with open(path, "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()[:12]


# ---------------------------------------------------------------- building

POLICY_RC_D = "#!/bin/sh\n# Roots for tests never start daemons at install time.\nexit 101\n"


def mmdebstrap_argv(recipe, target):
    local_cas = ("if ls %s/*.crt >/dev/null 2>&1 && [ -x \"$1/usr/sbin/update-ca-certificates\" ]; "
                 "then mkdir -p \"$1%s\" && cp %s/*.crt \"$1%s/\" && "
                 "chroot \"$1\" update-ca-certificates >/dev/null; fi"
                 % (LOCAL_CA_DIR, LOCAL_CA_DIR, LOCAL_CA_DIR, LOCAL_CA_DIR))
    argv = ["mmdebstrap", "--quiet", "--mode=root", "--variant=" + recipe.variant,
            "--customize-hook=" + local_cas]
    if recipe.packages:
        argv.append("--include=" + ",".join(recipe.packages))
    return argv + [recipe.suite, target] + mirror_lines(recipe.suite, recipe.pockets)


BUILD_TIMEOUT = 1800


def require_mmdebstrap():
    if not shutil.which("mmdebstrap"):
        raise RootError("mmdebstrap is not installed: install the Debian package 'mmdebstrap' "
                        "(make deps)")
    if os.geteuid() != 0:
        raise RootError("building and entering roots needs root")


def cached_root(recipe):
    """The directory of recipe's root, built on first use."""
    final = recipe.directory()
    if os.path.isdir(final):
        return final
    require_mmdebstrap()
    os.makedirs(CACHE, exist_ok=True)
    with open(final + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.isdir(final):
            return final  # another process built it while we waited
        for stale in glob.glob(final + ".build-*"):
            shutil.rmtree(stale, ignore_errors=True)  # left by a killed build
        building = "%s.build-%d" % (final, os.getpid())
        # Its own mount and PID namespaces, killed with us: a killed build
        # leaves neither mounts nor processes, only a directory removed above.
        # A hanging mirror must not hang the suites (nor, through this lock,
        # every other builder): a build gets BUILD_TIMEOUT seconds.
        try:
            result = subprocess.run(
                ["setpriv", "--pdeathsig", "KILL", "unshare", "--mount", "--pid", "--fork",
                 "--mount-proc", "--propagation", "private", "--kill-child"]
                + mmdebstrap_argv(recipe, building),
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                timeout=BUILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            shutil.rmtree(building, ignore_errors=True)
            raise RootError("mmdebstrap did not finish %s within %d s: check the Debian mirror "
                            "in the apt sources" % (recipe.name, BUILD_TIMEOUT))
        if result.returncode != 0:
            shutil.rmtree(building, ignore_errors=True)
            raise RootError("mmdebstrap failed for %s (exit %d):\n%s"
                            % (recipe.name, result.returncode, result.stdout[-4000:]))
        # mmdebstrap's own policy-rc.d lasts only while it builds.
        write_file(os.path.join(building, "usr/sbin/policy-rc.d"), POLICY_RC_D)
        os.chmod(os.path.join(building, "usr/sbin/policy-rc.d"), 0o755)
        os.rename(building, final)
        for older in glob.glob(os.path.join(CACHE, recipe.name + "-" + "[0-9a-f]" * 12)):
            if older != final:  # built by an older recipe or harness
                shutil.rmtree(older, ignore_errors=True)
    return final


# ---------------------------------------------------------------- running

def run_in_root(recipe_or_dir, argv, binds=(), env=None, private_net=False, timeout=None,
                cwd="/", input=None, capture=True, hostname=None):
    """Run argv in a throwaway copy of the root (see the module docstring).
    env adds to a minimal environment (PATH, HOME, LANG); capture=False lets
    the output through to ours."""
    if isinstance(recipe_or_dir, Recipe):
        lower = cached_root(recipe_or_dir)
        hostname = hostname or recipe_or_dir.name
    else:
        lower = os.path.abspath(recipe_or_dir)
    if os.geteuid() != 0:
        raise RootError("entering roots needs root")
    os.makedirs(SCRATCH, exist_ok=True)
    inside_env = {"PATH": INSIDE_PATH, "HOME": "/root", "LANG": "C.UTF-8"}
    inside_env.update(env or {})
    spec = {"lower": lower, "argv": list(argv), "env": inside_env, "cwd": cwd,
            "binds": [[os.path.abspath(h), p, bool(ro)] for h, p, ro in binds],
            "host_network": not private_net, "hostname": hostname or "root",
            "scratch": SCRATCH}
    namespaces = ["--mount", "--pid", "--ipc", "--uts"] + (["--net"] if private_net else [])
    command = (["setpriv", "--pdeathsig", "KILL", "unshare", "--fork", "--mount-proc",
                "--propagation", "private", "--kill-child"] + namespaces
               + [sys.executable, os.path.abspath(__file__), "_init", json.dumps(spec)])
    output = subprocess.PIPE if capture else None
    return subprocess.run(command, input=input, stdout=output, stderr=output,
                          universal_newlines=True, timeout=timeout)


def prepare_root(spec):
    """As PID 1 of the new namespaces: assemble the root; returns its path."""
    scratch = spec["scratch"]
    nsutil.mount("tmpfs", scratch, "tmpfs", "mode=755", nsutil.MS_NOSUID | nsutil.MS_NODEV)
    for sub in ("upper", "work", "root"):
        os.mkdir(os.path.join(scratch, sub))
    root = os.path.join(scratch, "root")
    nsutil.mount("overlay", root, "overlay", "lowerdir=%s,upperdir=%s/upper,workdir=%s/work"
                 % (spec["lower"], scratch, scratch))
    at = lambda path: os.path.join(root, path.lstrip("/"))  # noqa: E731
    for path in ("proc", "sys", "dev", "tmp", "run"):
        os.makedirs(at(path), exist_ok=True)
    nsutil.mount("proc", at("proc"), "proc", flags=nsutil.MS_NOSUID | nsutil.MS_NODEV
                 | nsutil.MS_NOEXEC)
    nsutil.mount("sysfs", at("sys"), "sysfs", flags=nsutil.MS_RDONLY | nsutil.MS_NOSUID
                 | nsutil.MS_NODEV | nsutil.MS_NOEXEC)
    private_dev(at("dev"))
    nsutil.mount("tmpfs", at("tmp"), "tmpfs", "mode=1777", nsutil.MS_NOSUID | nsutil.MS_NODEV)
    nsutil.mount("tmpfs", at("run"), "tmpfs", "mode=755", nsutil.MS_NOSUID | nsutil.MS_NODEV)
    for host_path, inside, read_only in spec["binds"]:
        target = at(inside)
        if os.path.isdir(host_path):
            os.makedirs(target, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            open(target, "a").close()
        nsutil.bind(host_path, target, read_only)
    machine_identity(root, spec)
    return root


def private_dev(dev):
    """A tmpfs /dev with the host's harmless devices, its own ptys and shm:
    nothing written inside reaches the host's /dev."""
    nsutil.mount("tmpfs", dev, "tmpfs", "mode=755", nsutil.MS_NOSUID)
    for name in DEVICES:
        open(os.path.join(dev, name), "w").close()
        nsutil.bind("/dev/" + name, os.path.join(dev, name))
    for sub in ("pts", "shm"):
        os.mkdir(os.path.join(dev, sub))
    nsutil.mount("devpts", os.path.join(dev, "pts"), "devpts",
                 "newinstance,ptmxmode=0666,mode=0620", nsutil.MS_NOSUID | nsutil.MS_NOEXEC)
    nsutil.mount("tmpfs", os.path.join(dev, "shm"), "tmpfs", "mode=1777",
                 nsutil.MS_NOSUID | nsutil.MS_NODEV)
    for name, target in (("ptmx", "pts/ptmx"), ("fd", "/proc/self/fd"),
                         ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        os.symlink(target, os.path.join(dev, name))


def machine_identity(root, spec):
    """Host name, /etc/hosts as an installed machine has them, and the
    host's resolver configuration so that apt works inside."""
    nsutil.sethostname(spec["hostname"])
    etc = os.path.join(root, "etc")
    write_file(os.path.join(etc, "hostname"), spec["hostname"] + "\n")
    write_file(os.path.join(etc, "hosts"),
               "127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n"
               % spec["hostname"])
    if spec["host_network"]:
        with open("/etc/resolv.conf") as f:
            write_file(os.path.join(etc, "resolv.conf"), f.read())
    else:
        subprocess.check_call(["ip", "link", "set", "lo", "up"])


def write_file(path, text):
    if os.path.lexists(path):
        os.unlink(path)
    with open(path, "w") as f:
        f.write(text)


def init(spec):
    """PID 1 of the namespaces: build the root, run the command in it, reap
    orphans, and exit with the command's status (the kernel then kills
    whatever is left inside and the mounts vanish)."""
    try:
        os.chdir(prepare_root(spec))
        nsutil.pivot_root_here()
    except OSError as error:
        sys.stderr.write("roots: cannot assemble the root: %s\n" % error)
        return 125
    child = os.fork()
    if child == 0:
        try:
            os.chdir(spec["cwd"])
            os.execvpe(spec["argv"][0], spec["argv"], spec["env"])
        except OSError as error:
            sys.stderr.write("roots: cannot run %s: %s\n" % (spec["argv"][0], error))
            os._exit(127)
    return nsutil.reap_children_until(child)


# ---------------------------------------------------------------- CLI

def recipe_named(name):
    try:
        return RECIPES[name]
    except KeyError:
        raise SystemExit("unknown recipe %r; known: %s" % (name, ", ".join(sorted(RECIPES))))


def main(args=None):
    args = sys.argv[1:] if args is None else args
    if args[:1] == ["_init"]:
        return init(json.loads(args[1]))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    sub.required = True
    sub.add_parser("list")
    for name in ("build", "shell", "run"):
        sub.add_parser(name).add_argument("name")
    options, rest = parser.parse_known_args(args)
    if rest[:1] == ["--"]:
        rest = rest[1:]
    try:
        if options.command == "list":
            for name, recipe in sorted(RECIPES.items()):
                state = "built" if os.path.isdir(recipe.directory()) else "not built"
                print("%-20s %-10s %s" % (name, state, recipe.directory()))
            return 0
        recipe = recipe_named(options.name)
        if options.command == "build":
            print(cached_root(recipe))
            return 0
        argv = rest if options.command == "run" else ["/bin/bash", "-l"]
        if not argv:
            parser.error("run NAME -- COMMAND...")
        env = {"TERM": os.environ.get("TERM", "dumb")}
        return run_in_root(recipe, argv, env=env, capture=False).returncode
    except RootError as error:
        sys.stderr.write("roots: %s\n" % error)
        return 1


if __name__ == "__main__":
    sys.exit(main())
