"""What the harness observes: forwarding state read from the kernel
(routes followed hop by hop across the emulated air), pings, and a 50 ms
probe flow."""
import ipaddress
import socket
import subprocess
import time

from . import owned
from .mesh import v4, v6

FAMILIES = {socket.AF_INET: v4, socket.AF_INET6: v6}


def snapshot(mesh, proto):
    """{(node, family): {network: next hop}} for every node."""
    return {(i, fam): mesh.routes(i, fam, proto) for i in mesh.nodes() for fam in FAMILIES}


def lookup(routes, addr):
    """Next hop of the longest matching prefix, or None if no route."""
    best = None
    for net, hop in routes.items():
        if addr in net and (best is None or net.prefixlen > best[0].prefixlen):
            best = (net, hop)
    return best and best[1]


def walk(mesh, snap, src, dst, fam):
    """Follows the routes from src to dst's address. ("ok", hops),
    ("loop", hops) or ("blackhole", hops): no route, or a next hop that is
    not a neighbour over a working link."""
    addr = ipaddress.ip_address(FAMILIES[fam](dst))
    up = mesh.up_edges()
    at, seen = src, {src}
    while at != dst:
        hop = lookup(snap[(at, fam)], addr)
        nxt = mesh.by_link_local.get(ipaddress.ip_address(hop.split("%")[0])) if hop else None
        if nxt is None or tuple(sorted((at, nxt))) not in up:
            return "blackhole", len(seen) - 1
        if nxt in seen:
            return "loop", len(seen)
        seen.add(nxt)
        at = nxt
    return "ok", len(seen) - 1


def check(mesh, snap, dist):
    """Loops, blackholes and stretch (hops / shortest hops) over every
    ordered pair and both families."""
    r = {"pairs": 0, "ok": 0, "loop": 0, "blackhole": 0, "stretch": []}
    for s in mesh.nodes():
        for d in mesh.nodes():
            for fam in FAMILIES if s != d else ():
                verdict, hops = walk(mesh, snap, s, d, fam)
                r["pairs"] += 1
                r[verdict] += 1
                if verdict == "ok":
                    r["stretch"].append(hops / dist[s][d])
    return r


def wait_converged(mesh, proto, dist, t0, timeout):
    """Seconds from t0 until every node's routes reach every other node
    (IPv4 and IPv6), or None after `timeout`."""
    while time.monotonic() - t0 < timeout:
        t = time.monotonic()
        r = check(mesh, snapshot(mesh, proto), dist)
        if r["ok"] == r["pairs"]:
            return t - t0
        time.sleep(0.02)
    return None


def ping_sweep(mesh, at_once=100):
    """Pings every other node's IPv4 and IPv6 address from every node,
    `at_once` pings at a time (one reply within 3 s is enough); returns
    the failed (src, addr) pairs."""
    todo = [(s, f(d)) for s in mesh.nodes() for d in mesh.nodes() if d != s for f in FAMILIES.values()]
    failed = []
    for k in range(0, len(todo), at_once):
        pings = {(s, a): subprocess.Popen(
            ["ip", "netns", "exec", mesh.ns[s], "ping", "-n", "-q", "-c", "1", "-w", "3", a],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for s, a in todo[k:k + at_once]}
        failed += [key for key, p in pings.items() if p.wait() != 0]
    return failed


class Probe:
    """A continuous `ping -D -i 0.05` from node src to addr."""

    def __init__(self, mesh, src, addr):
        self.out = open(f"{owned.workdir}/{mesh.ns[src]}-probe-{addr}.txt", "w+")
        self.proc = owned.spawn(["ip", "netns", "exec", mesh.ns[src], "ping", "-n", "-D", "-i", "0.05", addr],
                                stdout=self.out)

    def stop(self):
        """Stops the probe (SIGINT: ping flushes its output); returns the
        wall-clock times of the replies."""
        owned.stop(self.proc, sig=2)
        self.out.seek(0)
        replies = [float(l[1:l.index("]")]) for l in self.out if "bytes from" in l and l.startswith("[")]
        self.out.close()
        return replies


def longest_gap(replies, start, end):
    """The longest time without a reply in [start, end] (wall clock)."""
    ts = [start] + [t for t in replies if start < t < end] + [end]
    return max(b - a for a, b in zip(ts, ts[1:]))
