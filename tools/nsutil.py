"""Small Linux namespace helpers shared by the root harness (tools/roots.py)
and the Pacemaker test harness (tests/cluster/nsinit.py).

mount(2) is called directly: mount(8) may write to /run behind our back, and
a helper running as PID 1 of a namespace must not depend on the root it is
building.
"""

import ctypes
import os

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC = 32, 4096, 16384
MNT_DETACH = 2

_libc = ctypes.CDLL(None, use_errno=True)


def mount(source, target, fstype, options="", flags=0):
    if _libc.mount(source.encode(), target.encode(), fstype.encode(), flags,
                   options.encode() or None) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, "mount %s on %s: %s" % (fstype or source, target,
                                                     os.strerror(errno)))


def bind(source, target, read_only=False):
    """A recursive bind mount, made read-only when asked (a bind ignores
    MS_RDONLY on creation: it takes a remount)."""
    mount(source, target, "", flags=MS_BIND | MS_REC)
    if read_only:
        mount("none", target, "", flags=MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC)


# pivot_root(2) has no libc wrapper: its system call numbers.
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "ppc64le": 203, "s390x": 217}


def pivot_root_here():
    """Make the current directory (a mount point) the root of this mount
    namespace and drop the old root. Unlike chroot, this also holds for
    processes that join the namespace later (nsenter, setns)."""
    number = SYS_PIVOT_ROOT[os.uname().machine]
    if _libc.syscall(number, b".", b".") != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, "pivot_root: " + os.strerror(errno))
    # The old root is now stacked on ".": detach it.
    if _libc.umount2(b".", MNT_DETACH) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, "umount old root: " + os.strerror(errno))
    os.chdir("/")


def sethostname(name):
    if _libc.sethostname(name.encode(), len(name.encode())) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, "sethostname: " + os.strerror(errno))


def reap_children_until(pid):
    """As PID 1 of a namespace: collect every orphan until `pid` exits;
    returns its exit status as a shell would (128 + signal when killed)."""
    while True:
        try:
            found, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 1
        except InterruptedError:
            continue
        if found == pid:
            if os.WIFSIGNALED(status):
                return 128 + os.WTERMSIG(status)
            return os.WEXITSTATUS(status)
