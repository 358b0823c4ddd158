"""Child processes that die with their parent, so no orphan keeps the port or runs jobs.

Linux delivers a chosen signal to a process when the thread that forked it ends
(``prctl(PR_SET_PDEATHSIG)``); ``serve`` asks for SIGKILL for gunicorn's master and the
scheduler, and gunicorn's workers ask for it for themselves (``registry.gunicorn_config``).
SIGKILL because the parent dies this way only when it was killed hard (an OOM kill, a runtime
giving up after its grace period): the graceful stop has been skipped already, every job is
one transaction that the database rolls back, and whatever a child still held (the port, a
half-done request) must go at once.
"""

import ctypes
import ctypes.util
import os
import signal
import sys

PR_SET_PDEATHSIG = 1

# Loaded before any fork: a preexec_fn should not have to load a library.
_libc = ctypes.CDLL(ctypes.util.find_library("c")) if sys.platform == "linux" else None


def die_with_parent(parent_pid: int, sig: int = signal.SIGKILL) -> bool:
    """Have this process receive ``sig`` when its parent ends; return False where unsupported.

    The parent may have died between the fork and this call, so a process whose parent is no
    longer ``parent_pid`` (it was re-parented) ends itself at once.
    """
    if _libc is None:
        return False
    if _libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
        return False
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), sig)
    return True
