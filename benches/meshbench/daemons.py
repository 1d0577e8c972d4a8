"""The two daemons under test, each on its defaults for a wireless mesh
interface, announcing the node's 10.77.x.y/32 and fd77::N/128 (addresses
on `lo`). Each node's config, pid, state and log files live in the run's
work directory."""
import json
import os
import socket

from . import owned
from .mesh import v4, v6


class Roost:
    name = "roost"
    proto = 77  # route protocol of Roost's routes (table 76)
    counter = "roost"

    def __init__(self, binary):
        self.binary = binary

    def files(self, mesh, i):
        return os.path.join(owned.workdir, f"{mesh.ns[i]}.roost")

    def command(self, mesh, i):
        base = self.files(mesh, i)
        with open(base + ".conf", "w") as f:
            f.write(f"config roost 'main'\n"
                    f"\toption hostname 'n{i}'\n"
                    f"\toption control_socket '{base}.sock'\n"
                    f"\tlist announce '{v4(i)}/32'\n"
                    f"\tlist announce '{v6(i)}/128'\n"
                    f"config interface 'wlan0'\n"
                    f"\toption type 'wireless'\n")
        return [self.binary, "run", "-c", base + ".conf"]

    def status(self, mesh, i):
        """The daemon's `status` reply (control socket)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(self.files(mesh, i) + ".sock")
            s.sendall(b'{"cmd":"status"}\n')
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(1 << 16)
                if not chunk:
                    break
                buf += chunk
        return json.loads(buf)


class Babeld:
    name = "babeld"
    proto = 42  # RTPROT_BABEL, routes in the main table
    counter = "babel"
    binary = "/usr/sbin/babeld"

    def files(self, mesh, i):
        return os.path.join(owned.workdir, f"{mesh.ns[i]}.babeld")

    def command(self, mesh, i):
        base = self.files(mesh, i)
        with open(base + ".conf", "w") as f:
            f.write("interface wlan0 type wireless\n"
                    f"redistribute local ip {v4(i)}/32 allow\n"
                    f"redistribute local ip {v6(i)}/128 allow\n"
                    "redistribute local deny\n")
        return [self.binary, "-c", base + ".conf", "-I", base + ".pid", "-S", base + ".state", "wlan0"]


def start(daemon, mesh, i, wrap=()):
    """Starts the daemon of node i (optionally under `wrap`, e.g. valgrind);
    `ip netns exec` execs it, so the pid is the daemon's."""
    cmd = ["ip", "netns", "exec", mesh.ns[i], *wrap, *daemon.command(mesh, i)]
    return owned.spawn(cmd, log=daemon.files(mesh, i) + ".log")


def start_all(daemon, mesh):
    return {i: start(daemon, mesh, i) for i in mesh.nodes()}


def stop_all(procs):
    for p in procs.values():
        owned.stop(p)


def cpu_ticks(p):
    """utime + stime of a running process, in clock ticks."""
    with open(f"/proc/{p.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def status_kib(p, field):
    """A kB field of /proc/PID/status (VmHWM: peak RSS; RssAnon: private
    memory, without the file pages that shared libraries and the binary
    itself map)."""
    with open(f"/proc/{p.pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith(field + ":"))


def peak_rss_kib(p):
    return status_kib(p, "VmHWM")
