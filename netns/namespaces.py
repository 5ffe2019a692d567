"""Named network namespaces, made and entered per thread.

A network namespace is a property of a thread, not of a process: `setns`/`unshare` here switch only the
calling thread, and a socket or child process created while switched lives in that namespace for good.
That is what lets one Python process configure many namespaces without forking per call (pyroute2's
`IPRoute(netns=...)` forks, ~4 ms each). Names live under /run/netns exactly as `ip netns add` makes
them, so `ip netns exec` and `ip -n` work on everything kubelab creates.
"""
from __future__ import annotations

import ctypes
import os
from contextlib import ExitStack, contextmanager
from typing import Iterator

NETNS_DIR = "/run/netns"

_CLONE_NEWNET = 0x40000000
_CLONE_NEWUTS = 0x04000000
_FLAGS = {"net": _CLONE_NEWNET, "uts": _CLONE_NEWUTS}
_MS_REC = 0x4000
_MS_BIND = 0x1000
_MS_SHARED = 1 << 20
_MNT_DETACH = 2

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str, name: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}", name)


def path(name: str) -> str:
    return os.path.join(NETNS_DIR, name)


def exists(name: str) -> bool:
    return os.path.exists(path(name))


def inode(name: str) -> int | None:
    """The namespace's identity (nsfs inode); None when the name does not exist."""
    try:
        return os.stat(path(name)).st_ino
    except FileNotFoundError:
        return None


def names() -> set[str]:
    try:
        return set(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return set()


def _prepare_run_dir() -> None:
    # As iproute2's `ip netns add` does: /run/netns must be a shared mount so that the bind mounts
    # made here are seen from other mount namespaces (e.g. inside `ip netns exec`).
    os.makedirs(NETNS_DIR, exist_ok=True)
    if _libc.mount(b"", NETNS_DIR.encode(), b"none", _MS_SHARED | _MS_REC, None) == 0:
        return
    _check(_libc.mount(NETNS_DIR.encode(), NETNS_DIR.encode(), b"none", _MS_BIND | _MS_REC, None),
           "mount", NETNS_DIR)
    _check(_libc.mount(b"", NETNS_DIR.encode(), b"none", _MS_SHARED | _MS_REC, None), "mount", NETNS_DIR)


def _setns(fd: int, name: str, flag: int = _CLONE_NEWNET) -> None:
    _check(_libc.setns(fd, flag), "setns", name)


@contextmanager
def _returning(kind: str = "net") -> Iterator[None]:
    """Run the block, then put this thread back into the `kind` namespace it started in."""
    home = os.open(f"/proc/thread-self/ns/{kind}", os.O_RDONLY)
    try:
        yield
    finally:
        try:
            _setns(home, "home", _FLAGS[kind])
        finally:
            os.close(home)


@contextmanager
def entered(name: str, uts: str | None = None) -> Iterator[None]:
    """This thread inside network namespace `name` (and the UTS namespace bound at `uts`) for the block.

    Raises FileNotFoundError if the namespace does not exist.
    """
    with ExitStack() as stack:
        for kind, target in (("net", path(name)), ("uts", uts)):
            if target:
                fd = os.open(target, os.O_RDONLY)
                stack.callback(os.close, fd)
                stack.enter_context(_returning(kind))
                _setns(fd, target, _FLAGS[kind])
        yield


@contextmanager
def created(name: str) -> Iterator[None]:
    """Create network namespace `name` and keep this thread inside it for the block.

    Raises FileExistsError if the name is taken: a name is never silently reused.
    """
    _prepare_run_dir()
    with _bound_new("net", path(name)):
        yield


@contextmanager
def _bound_new(kind: str, target: str) -> Iterator[None]:
    """Unshare a new `kind` namespace in this thread and bind it at `target` so it outlives its processes."""
    os.close(os.open(target, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))
    try:
        with _returning(kind):
            _check(_libc.unshare(_FLAGS[kind]), "unshare", target)
            # /proc/thread-self, not /proc/self: only this thread has moved.
            _check(_libc.mount(f"/proc/thread-self/ns/{kind}".encode(), target.encode(), b"none", _MS_BIND, None),
                   "mount", target)
            yield
    except BaseException:
        _unbind(target)
        raise


def create_uts(target: str, hostname: str) -> None:
    """A UTS namespace with `hostname`, bound at file `target` (a pod's containers share it)."""
    with _bound_new("uts", target):
        encoded = hostname.encode()
        _check(_libc.sethostname(encoded, len(encoded)), "sethostname", hostname)


def remove_bound(target: str) -> None:
    """Drop a namespace bound at a file by create_uts (the kernel frees it once nothing holds it)."""
    _unbind(target)


def create(name: str) -> None:
    with created(name):
        pass


def _unbind(target: str) -> None:
    _libc.umount2(target.encode(), _MNT_DETACH)
    try:
        os.unlink(target)
    except FileNotFoundError:
        pass


def remove(name: str) -> None:
    """Drop the name (like `ip netns del`). The kernel frees the namespace once nothing holds it."""
    _unbind(path(name))


def open_fd(name: str) -> int:
    return os.open(path(name), os.O_RDONLY)
