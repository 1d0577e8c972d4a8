"""Output: one JSON line per measurement on stdout as it is made, and at
the end a Markdown table with Roost/babeld ratios of the same run."""
import json
import os
import sys
import threading
import time

results = []
_lock = threading.Lock()  # the simulator runs report from their own thread


def emit(scenario, metric, daemon, value, unit, **extra):
    r = {"scenario": scenario, "metric": metric, "daemon": daemon, "value": value, "unit": unit, **extra}
    with _lock:
        results.append(r)
        print(json.dumps(r), flush=True)


def machine(when, **versions):
    """One JSON line describing the machine and its load right now."""
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    with open("/proc/cpuinfo") as f:
        cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    u = os.uname()
    print(json.dumps({"machine": when, "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                      "kernel": f"{u.sysname} {u.release} {u.machine}", "cpu": cpu, "cpus": os.cpu_count(),
                      "loadavg": load, **versions}), flush=True)


def log(msg):
    print(f"meshbench: {msg}", file=sys.stderr, flush=True)


def fmt(v):
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def table():
    """Markdown: one row per (scenario, metric), Roost, babeld, ratio."""
    rows = {}
    for r in results:
        rows.setdefault((r["scenario"], r["metric"], r["unit"]), {})[r["daemon"]] = r["value"]
    out = ["| scenario | metric | unit | Roost | babeld | Roost/babeld |", "|---|---|---|---|---|---|"]
    for (scenario, metric, unit), v in rows.items():
        a, b = v.get("roost"), v.get("babeld")
        ratio = a / b if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else None
        out.append(f"| {scenario} | {metric} | {unit} | {fmt(a)} | {fmt(b)} | {fmt(ratio)} |")
    return "\n".join(out)
