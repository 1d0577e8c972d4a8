"""The scenarios. Each one builds its mesh(es), runs one daemon (or all
of them side by side where timing cannot matter), emits its measurements
and tears down what it made."""
import os
import re
import socket
import statistics
import threading
import time

from . import daemons, measure, owned, topo
from .mesh import Mesh, v4, v6
from .report import emit, log


def cold_start(daemon, spec, runs, settle, loss=0):
    """Time from starting every daemon at once until every node's routes
    reach every other node (IPv4 and IPv6), every link losing `loss` % per
    direction; then, `settle` s later, route correctness: loops,
    blackholes, stretch (hops against the shortest path), and pings."""
    n, edges = topo.parse(spec)
    dist = topo.hop_counts(n, edges)
    scen = f"cold start {spec}" + (f" {loss}% loss" if loss else "")
    times, checks, failed = [], [], 0
    for k in range(1, runs + 1):
        mesh, procs = Mesh(n, edges, loss), {}
        try:
            t0 = time.monotonic()
            procs = daemons.start_all(daemon, mesh)
            t = measure.wait_converged(mesh, daemon.proto, dist, t0, timeout=120)
            emit(scen, f"convergence, run {k}", daemon.name, t, "s")
            times.append(t if t is not None else float("inf"))
            time.sleep(settle)
            checks.append(measure.check(mesh, measure.snapshot(mesh, daemon.proto), dist))
            failed += len(measure.ping_sweep(mesh))
        finally:
            daemons.stop_all(procs)
            mesh.close()
    emit(scen, "convergence, median", daemon.name, statistics.median(times), "s")
    emit(scen, "convergence, worst", daemon.name, max(times), "s")
    stretch = [s for c in checks for s in c["stretch"]]
    scen = f"{scen}, {settle:.0f} s after convergence"
    emit(scen, "loops (pairs, all runs)", daemon.name, sum(c["loop"] for c in checks), "pairs")
    emit(scen, "blackholes (pairs, all runs)", daemon.name, sum(c["blackhole"] for c in checks), "pairs")
    emit(scen, "stretch, mean", daemon.name, statistics.mean(stretch) if stretch else None, "hops/shortest")
    emit(scen, "stretch, max", daemon.name, max(stretch, default=None), "hops/shortest")
    emit(scen, "failed pings (all runs)", daemon.name, failed, "pings")
    return checks


def next_hop(mesh, daemon, src, dst, fam):
    """The node src's route to dst's address points to (None if none)."""
    hop = measure.lookup(mesh.routes(src, fam, daemon.proto),
                         measure.ipaddress.ip_address(measure.FAMILIES[fam](dst)))
    return hop and mesh.by_link_local.get(measure.ipaddress.ip_address(hop))


def wait_until(cond, timeout):
    """Seconds until cond() holds (polled every 20 ms), or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if cond():
            return time.monotonic() - t0
        time.sleep(0.02)
    return None


def failover(daemon, loss, settle, revert=True):
    """Two paths from A (1) to Z (5): A-B-Z and A-C-D-Z, every link losing
    `loss` % per direction. With a 50 ms ping from A to Z (IPv4 and IPv6)
    running from `settle` s before, the first link of the active path is
    cut silently; the outage is the longest gap in the replies. Then the
    link returns: the revert is the time until A routes via B again.
    Returns the longer outage."""
    n, edges = topo.parse("twopath")
    dist = topo.hop_counts(n, edges)
    scen = f"failover twopath {loss}% loss"
    mesh, procs, probes = Mesh(n, edges, loss), {}, {}
    try:
        procs = daemons.start_all(daemon, mesh)
        if measure.wait_converged(mesh, daemon.proto, dist, time.monotonic(), 120) is None:
            emit(scen, "outage", daemon.name, None, "s", error="did not converge")
            return None

        def via(node):
            return all(next_hop(mesh, daemon, 1, 5, fam) == node for fam in measure.FAMILIES)

        if wait_until(lambda: via(2), 60) is None:
            log(f"{daemon.name}: A does not route via B before the cut")
        probes = {fam: measure.Probe(mesh, 1, f(5)) for fam, f in measure.FAMILIES.items()}
        t_probe = time.time() + 1
        time.sleep(settle + 3)
        first = next_hop(mesh, daemon, 1, 5, socket.AF_INET)
        t_cut = time.time()
        mesh.set_cut(1, first, True)

        def repaired():
            snap = measure.snapshot(mesh, daemon.proto)
            return all(measure.walk(mesh, snap, 1, 5, fam)[0] == "ok" for fam in measure.FAMILIES)

        fixed = wait_until(repaired, 90)
        time.sleep(2)
        t_back = time.time()
        back = None
        if revert:
            mesh.set_cut(1, first, False)
            back = wait_until(lambda: via(first), 120)
            time.sleep(2)
        t_end = time.time()
        replies = {fam: p.stop() for fam, p in probes.items()}
        probes = {}
        gaps = {fam: measure.longest_gap(r, t_cut, t_back) for fam, r in replies.items()}
        emit(scen, "outage IPv4", daemon.name, gaps[socket.AF_INET], "s", cut=f"1-{first}")
        emit(scen, "outage IPv6", daemon.name, gaps[socket.AF_INET6], "s", cut=f"1-{first}")
        emit(scen, "routes repaired", daemon.name, fixed, "s")
        emit(scen, f"longest gap in the {settle + 2:.0f} s before the cut", daemon.name,
             max(measure.longest_gap(r, t_probe, t_cut) for r in replies.values()), "s")
        if revert:
            emit(scen, "revert to the shorter path", daemon.name, back, "s")
            emit(scen, "longest gap after the link returns", daemon.name,
                 max(measure.longest_gap(r, t_back, t_end) for r in replies.values()), "s")
        return max(gaps.values())
    finally:
        for p in probes.values():
            p.stop()
        daemons.stop_all(procs)
        mesh.close()


def overhead(dmns, sizes, warmup, window):
    """Steady-state control traffic of rgg:N:1 meshes, all (daemon, N)
    meshes side by side (frames are counted per mesh, so sharing the CPU
    does not change them): bytes and packets per node per second from
    `warmup` s after start, over `window` s. Also each daemon's peak RSS
    and CPU share over the window."""
    runs = []
    try:
        for d in dmns:
            for n in sizes:
                mesh = Mesh(*topo.parse(f"rgg:{n}:1"))
                runs.append((d, n, mesh, {}))
        for d, n, mesh, procs in runs:
            procs.update(daemons.start_all(d, mesh))
        time.sleep(warmup)
        before = [(mesh.frames(d.counter), {i: daemons.cpu_ticks(p) for i, p in procs.items()})
                  for d, n, mesh, procs in runs]
        t0 = time.monotonic()
        time.sleep(window)
        dt = time.monotonic() - t0
        tick = os.sysconf("SC_CLK_TCK")
        per_node = {}
        for (d, n, mesh, procs), (f0, c0) in zip(runs, before):
            f1 = mesh.frames(d.counter)
            bps = (f1[1] - f0[1]) / n / dt
            per_node.setdefault(d.name, []).append((n, bps))
            emit(f"control overhead rgg:{n}:1", "bytes per node per s", d.name, bps, "B/s")
            emit(f"control overhead rgg:{n}:1", "packets per node per s", d.name, (f1[0] - f0[0]) / n / dt, "pkt/s")
            rss = [daemons.peak_rss_kib(p) / 1024 for p in procs.values()]
            cpu = [100 * (daemons.cpu_ticks(p) - c0[i]) / tick / dt for i, p in procs.items()]
            emit(f"footprint rgg:{n}:1", "peak RSS, max over nodes", d.name, max(rss), "MiB")
            anon = [daemons.status_kib(p, "RssAnon") / 1024 for p in procs.values()]
            emit(f"footprint rgg:{n}:1", "private RSS (RssAnon) at the end, max over nodes", d.name, max(anon), "MiB")
            emit(f"footprint rgg:{n}:1", "CPU, mean over nodes", d.name, statistics.mean(cpu), "% of a core")
        for d, n, mesh, procs in runs:
            steady_state_check(d, f"rgg:{n}:1", mesh)
        for name, pts in per_node.items():
            emit("control overhead", f"growth N={sizes[0]}..{sizes[-1]} (least squares)", name, slope(pts),
                 "B/s per added node")
    finally:
        for d, n, mesh, procs in runs:
            daemons.stop_all(procs)
            mesh.close()


def steady_state_check(daemon, spec, mesh):
    """Route correctness of a mesh that has been running for minutes."""
    scen = f"steady state {spec}"
    r = measure.check(mesh, measure.snapshot(mesh, daemon.proto), topo.hop_counts(mesh.n, mesh.edges))
    emit(scen, "loops", daemon.name, r["loop"], "pairs")
    emit(scen, "blackholes", daemon.name, r["blackhole"], "pairs")
    emit(scen, "stretch, mean", daemon.name, statistics.mean(r["stretch"]) if r["stretch"] else None,
         "hops/shortest")
    emit(scen, "stretch, max", daemon.name, max(r["stretch"], default=None), "hops/shortest")
    emit(scen, "failed pings", daemon.name, len(measure.ping_sweep(mesh)), "pings")


def slope(pts):
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else None


def callgrind(dmns, warmup, window):
    """Instructions (callgrind) of the middle node of chain:5 in steady
    state, both daemons side by side (instruction counts do not depend on
    the CPU's load); for Roost also all its instructions divided by the
    OGMs (and datagrams) it received in the window."""
    runs = []
    try:
        for d in dmns:
            n, edges = topo.parse("chain:5")
            mesh = Mesh(n, edges)
            out = f"{owned.workdir}/{mesh.ns[3]}.cg.out"
            procs = {i: daemons.start(d, mesh, i) for i in mesh.nodes() if i != 3}
            procs[3] = daemons.start(d, mesh, 3, wrap=("valgrind", "--tool=callgrind",
                                                        f"--callgrind-out-file={out}"))
            runs.append((d, mesh, procs, out))
        time.sleep(warmup)
        rx = {}
        for d, mesh, procs, out in runs:
            owned.sh(["callgrind_control", "-z", str(procs[3].pid)])
            if isinstance(d, daemons.Roost):
                rx[d.name] = d.status(mesh, 3)["counters"]
        t0 = time.monotonic()
        time.sleep(window)
        dt = time.monotonic() - t0
        for d, mesh, procs, out in runs:
            owned.sh(["callgrind_control", "-d", str(procs[3].pid)])
            ir = callgrind_total(out + ".1")
            emit("callgrind chain:5 middle node", "instructions per s", d.name, ir / dt, "Ir/s")
            if d.name in rx:
                now = d.status(mesh, 3)["counters"]
                for what, key in [("OGM", "rx_ogms"), ("datagram", "rx_packets")]:
                    k = now[key] - rx[d.name][key]
                    emit("callgrind chain:5 middle node", f"instructions per received {what} (all work / {what}s)",
                         d.name, ir / k if k else None, "Ir", received=k)
    finally:
        for d, mesh, procs, out in runs:
            daemons.stop_all(procs)
            mesh.close()


def callgrind_total(path):
    for _ in range(100):  # the dump is written asynchronously
        if os.path.exists(path):
            with open(path) as f:
                m = re.search(r"^(?:summary|totals): (\d+)", f.read(), re.M)
            if m:
                return int(m.group(1))
        time.sleep(0.1)
    raise RuntimeError(f"no callgrind dump {path}")


def binary_sizes(roost_binary):
    """The binaries as run (Debian's babeld is dynamically linked), and the
    router builds where they have been built."""
    emit("footprint", "binary size x86_64, as run", "roost", os.path.getsize(roost_binary), "bytes")
    emit("footprint", "binary size x86_64, as run", "babeld", os.path.getsize(daemons.Babeld.binary), "bytes")
    for what, path in [("x86_64 router build (no simulator)", "target/nosim/release/roost"),
                       ("MIPS static (cross/build.sh)", "target/cross/out/mips-unknown-linux-musl/roost")]:
        if os.path.exists(path):
            emit("footprint", f"binary size {what}", "roost", os.path.getsize(path), "bytes")


def sim_scale(binary, runs, timeout, mem_gib):
    """`roost sim` wall time and peak memory (/usr/bin/time -v), one run
    after another, on a thread of its own; returns the thread. Each run is
    limited to `timeout` s and `mem_gib` GiB of address space, so a run too
    big for the machine fails alone instead of starving its neighbours."""
    def work():
        for spec, dur in runs:
            log_path = f"{owned.workdir}/sim-{spec.replace(':', '-')}.time"
            p = owned.spawn(["/usr/bin/time", "-v", "timeout", str(timeout), "prlimit", f"--as={mem_gib << 30}",
                             binary, "sim", "--topo", spec, "--duration", str(dur)], log=log_path)
            rc = p.wait()
            with open(log_path) as f:
                text = f.read()
            wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", text)
            rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
            secs = wall and int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
            scen = f"simulator {spec} x {dur} s"
            end = "finished" if rc == 0 else "timed out" if rc == 124 else f"failed (exit {rc}, {mem_gib} GiB limit?)"
            emit(scen, "wall time", "roost", secs, "s", end=end, timeout_s=timeout, mem_limit_gib=mem_gib)
            emit(scen, "peak RSS", "roost", rss and int(rss.group(1)) / 1024, "MiB", end=end)
    t = threading.Thread(target=work, daemon=True)
    t.start()
    return t
