"""PID 1 of a private cluster namespace (started by stack.Namespace).

    unshare --mount --net --pid --fork --mount-proc python3 nsinit.py AGENT READY_FILE

Gives the namespace private, empty state directories (tmpfs), makes AGENT
visible as /usr/sbin/fence_clc, brings loopback up, writes READY_FILE, then
reaps orphans until its standard input closes. When it exits the kernel
kills every process of the PID namespace and the tmpfs mounts vanish with
the mount namespace: nothing survives the test, even a SIGKILLed one.
"""

import os
import shutil
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools"))

from nsutil import MS_NODEV, MS_NOSUID, mount  # noqa: E402

# /run first: mount(8) and others create files under /run before anything.
PRIVATE_DIRS = ("/run", "/dev/shm", "/var/lib/pacemaker", "/var/log", "/var/lib/corosync",
                "/etc/corosync", "/var/lib/pcsd", "/var/lib/tinyproxy")
OVERLAY_DIR = "/usr/sbin"


def directory_skeleton(top, depth=2):
    """The directories under `top` (not files) with their owners and modes,
    so that packaged directories such as /var/lib/pacemaker/cib keep theirs."""
    found = []
    for root, dirs, _files in os.walk(top):
        if root[len(top):].count("/") >= depth:
            dirs[:] = []
            continue
        for name in dirs:
            path = os.path.join(root, name)
            info = os.lstat(path)
            found.append((path, info.st_mode & 0o7777, info.st_uid, info.st_gid))
    return found


def make_private(path):
    """An empty tmpfs over `path`, with the same directory tree as before."""
    if not os.path.isdir(path):
        return
    info = os.stat(path)
    skeleton = directory_skeleton(path)
    mount("tmpfs", path, "tmpfs", "mode=%o" % (info.st_mode & 0o7777), MS_NOSUID | MS_NODEV)
    os.chown(path, info.st_uid, info.st_gid)
    for sub, mode, uid, gid in skeleton:
        os.makedirs(sub, exist_ok=True)
        os.chmod(sub, mode)
        os.chown(sub, uid, gid)


def show_agent(agent):
    """Overlay /usr/sbin with a writable layer in private /run, and copy the
    agent into it: the host's /usr/sbin is never written."""
    layer = "/run/usr-sbin-overlay"
    os.makedirs(layer + "/upper")
    os.makedirs(layer + "/work")
    mount("overlay", OVERLAY_DIR, "overlay",
          "lowerdir=%s,upperdir=%s/upper,workdir=%s/work" % (OVERLAY_DIR, layer, layer))
    target = os.path.join(OVERLAY_DIR, "fence_clc")
    shutil.copyfile(agent, target)
    os.chmod(target, 0o755)


def reap_orphans(stop):
    """Daemons re-parent their children to PID 1: collect them."""
    while not stop.is_set():
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            pid = 0
        if pid == 0:
            time.sleep(0.2)


def prepare(agent):
    """Private state directories, the agent in /usr/sbin, loopback up (also
    used inside distribution roots by the platform tests)."""
    for path in PRIVATE_DIRS:
        make_private(path)
    show_agent(agent)
    subprocess.check_call(["ip", "link", "set", "lo", "up"])


def main(agent, ready_file):
    prepare(agent)
    with open(ready_file + ".tmp", "w") as ready:
        ready.write("ready\n")
    os.rename(ready_file + ".tmp", ready_file)
    stop = threading.Event()
    threading.Thread(target=reap_orphans, args=(stop,), daemon=True).start()
    sys.stdin.read()  # until the test closes the pipe, or dies
    stop.set()


if __name__ == "__main__":
    main(*sys.argv[1:])
