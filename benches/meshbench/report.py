"""Output: one JSON line per measurement on stdout as it is made, and at
the end a Markdown table with Roost/babeld ratios of the same run."""
import json
import sys
import threading

results = []
_lock = threading.Lock()  # the simulator runs report from their own thread


def emit(scenario, metric, daemon, value, unit, **extra):
    r = {"scenario": scenario, "metric": metric, "daemon": daemon, "value": value, "unit": unit, **extra}
    with _lock:
        results.append(r)
        print(json.dumps(r), flush=True)


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
