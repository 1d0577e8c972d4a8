"""What this run owns (processes, namespaces, a temporary directory) and
how it is removed: only by the pids it started and the names it made, on
success, failure, Ctrl-C or SIGTERM."""
import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import tempfile

# Namespace names carry the harness's pid, so parallel runs never clash.
PREFIX = f"roostbench-{os.getpid()}"
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)

procs = []  # every subprocess.Popen we started that may outlive a call
namespaces = []  # every namespace we created
workdir = tempfile.mkdtemp(prefix=f"{PREFIX}-")


def sh(args, stdin=None, check=True):
    """Runs a command to completion; returns stdout (raises on failure)."""
    r = subprocess.run(args, input=stdin, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def spawn(args, log=None, stdout=None):
    """Starts a long-running process in its own session (Ctrl-C reaches
    only the harness, which then stops it by pid)."""
    err = open(log, "ab") if log else subprocess.DEVNULL
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=stdout or subprocess.DEVNULL,
                         stderr=err, start_new_session=True)
    procs.append(p)
    return p


def stop(p, sig=signal.SIGTERM, timeout=10):
    """Stops one process we started, with what it started (its own process
    group: the pid is ours and, unreaped, cannot be reused)."""
    if p.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, sig)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    if p in procs:
        procs.remove(p)


def add_netns(names):
    """Creates namespaces (one `ip -batch`), each with `lo` up."""
    namespaces.extend(names)
    sh(["ip", "-batch", "-"], "".join(f"netns add {n}\n" for n in names))
    for n in names:
        sh(["ip", "-n", n, "link", "set", "lo", "up"])


def del_netns(names):
    for n in names:
        if n in namespaces:
            namespaces.remove(n)
    sh(["ip", "-force", "-batch", "-"], "".join(f"netns del {n}\n" for n in names), check=False)


@contextlib.contextmanager
def in_netns(name):
    """Moves this thread into namespace `name` for the `with` body."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    there = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if _libc.setns(there, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {name}")
        yield
    finally:
        _libc.setns(home, CLONE_NEWNET)
        os.close(there)
        os.close(home)


def cleanup():
    """Stops our processes, deletes our namespaces and the work directory."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for p in list(procs):
        stop(p, timeout=5)
    del_netns(list(namespaces))
    shutil.rmtree(workdir, ignore_errors=True)


def on_signals():
    """SIGTERM and SIGINT end the run through the normal cleanup path."""
    def bail(sig, _frame):
        raise KeyboardInterrupt(f"signal {sig}")
    signal.signal(signal.SIGTERM, bail)
    signal.signal(signal.SIGINT, bail)
