"""Roost against babeld on the same emulated wifi mesh (network
namespaces, one bridge, nftables for who hears whom, loss and cuts).

    sudo python3 benches/meshbench              # the full benchmark (~25 min)
    sudo python3 benches/meshbench --smoke      # CI: twopath only, < 3 min
    sudo python3 benches/meshbench --only cold,failover

Prints one JSON line per measurement on stdout, progress on stderr, and a
Markdown table with Roost/babeld ratios at the end. Needs root, babeld,
nftables, iputils-ping; valgrind and /usr/bin/time for the full run.
`benches/run.sh` installs those and builds Roost first.
"""
import argparse
import os
import shutil
import sys

sys.dont_write_bytecode = True  # run as root from a work tree: leave no __pycache__
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from meshbench import daemons, owned, scenarios  # noqa: E402
from meshbench.report import log, machine, table  # noqa: E402

PHASES = ["sizes", "cold", "failover", "overhead", "sim", "callgrind"]


def parse_args():
    ap = argparse.ArgumentParser(prog="meshbench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--roost", default="target/release/roost", help="the roost binary")
    ap.add_argument("--smoke", action="store_true",
                    help="twopath cold start and 0%% loss failover only; exit 1 if Roost's outage "
                         "exceeds babeld's or Roost has a loop")
    ap.add_argument("--only", default=",".join(PHASES), help=f"phases to run, from {','.join(PHASES)}")
    ap.add_argument("--runs", type=int, default=2, help="cold starts per topology and daemon")
    ap.add_argument("--settle", type=float, default=20, help="s of steady state before a check or cut")
    ap.add_argument("--warmup", type=float, default=60, help="s before overhead/callgrind windows")
    ap.add_argument("--window", type=float, default=240, help="s of the overhead window")
    ap.add_argument("--sizes", default="5,10,20,40", help="N of the overhead meshes")
    ap.add_argument("--sim-timeout", type=int, default=900, help="s allowed to each simulator run")
    ap.add_argument("--sim-mem-gib", type=int, default=8, help="address space allowed to each simulator run")
    return ap.parse_args()


def preflight(args):
    if os.geteuid() != 0:
        sys.exit("meshbench: needs root (network namespaces): sudo python3 benches/meshbench")
    tools = ["ip", "nft", "ping", daemons.Babeld.binary]
    if not args.smoke:
        tools += ["valgrind", "callgrind_control", "/usr/bin/time"]
    missing = [t for t in tools if not shutil.which(t)]
    if missing or not os.access(args.roost, os.X_OK):
        sys.exit(f"meshbench: missing {missing + [args.roost] * (not os.access(args.roost, os.X_OK))}"
                 " (sudo bash benches/run.sh installs and builds everything)")


def smoke(roost, babeld, settle):
    """The CI version: one topology; fails on a loop or a slower failover."""
    checks = scenarios.cold_start(roost, "twopath", 1, settle)
    scenarios.cold_start(babeld, "twopath", 1, settle)
    outage = {d.name: scenarios.failover(d, 0, settle, revert=False) for d in (roost, babeld)}
    loops = sum(c["loop"] for c in checks)
    print(table())
    ok = outage["roost"] is not None and outage["babeld"] is not None and outage["roost"] <= outage["babeld"]
    if not ok or loops:
        log(f"SMOKE FAILED: outage {outage}, Roost loops {loops}")
        return 1
    log(f"smoke passed: outage Roost {outage['roost']:.2f} s, babeld {outage['babeld']:.2f} s; no loops")
    return 0


def full(roost, babeld, args):
    only = set(args.only.split(","))
    both = (roost, babeld)
    sizes = [int(n) for n in args.sizes.split(",")]
    sim = None
    if "sizes" in only:
        scenarios.binary_sizes(args.roost)
    for spec, loss in [("chain:6", 0), ("grid:4x4", 0), ("rgg:20:1", 0), ("rgg:20:1", 10)] if "cold" in only else []:
        for d in both:
            log(f"cold start {spec} at {loss}% loss: {d.name}")
            scenarios.cold_start(d, spec, args.runs, min(args.settle, 10), loss)
    for loss in [0, 10] if "failover" in only else []:
        for d in both:
            log(f"failover at {loss}% loss: {d.name}")
            scenarios.failover(d, loss, args.settle)
    if "sim" in only:
        log("simulator scale runs start (in the background)")
        sim = scenarios.sim_scale(args.roost, [("rgg:1000", 300), ("rgg:5000", 120)], args.sim_timeout, args.sim_mem_gib)
    if "overhead" in only:
        log(f"control overhead at N={sizes}: {args.warmup:.0f} s warm-up, {args.window:.0f} s window")
        scenarios.overhead(both, sizes, args.warmup, args.window)
    if "callgrind" in only:
        log("callgrind")
        scenarios.callgrind(both, args.warmup, 120)
    if sim:
        log("waiting for the simulator runs")
        sim.join()
    print(table())
    return 0


def main():
    args = parse_args()
    os.chdir(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    preflight(args)
    args.roost = os.path.abspath(args.roost)
    owned.on_signals()
    roost, babeld = daemons.Roost(args.roost), daemons.Babeld()
    versions = {"roost": owned.sh([args.roost, "--version"]).strip(),
                "babeld": owned.sh(["sh", "-c", f"{daemons.Babeld.binary} -V 2>&1"], check=False).strip()}
    machine("start", **versions)
    try:
        return smoke(roost, babeld, min(args.settle, 10)) if args.smoke else full(roost, babeld, args)
    except KeyboardInterrupt as e:
        log(f"interrupted ({e}); cleaning up")
        return 130
    finally:
        owned.cleanup()
        machine("end")


sys.exit(main())
