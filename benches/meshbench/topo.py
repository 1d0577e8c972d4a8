"""Topologies (who hears whom) and true shortest paths.

Nodes are numbered 1..n. `rgg:N:SEED` is the same random geometric graph
as `roost sim --topo rgg:N:SEED` (same generator, same radius, same joining
of components), so namespace and simulator figures describe one mesh.
"""
import math
from collections import deque

MASK = (1 << 64) - 1


class SplitMix:
    """The engine's SplitMix64 (src/engine/rng.rs)."""

    def __init__(self, seed):
        self.state = (seed ^ 0x05EE_D0FA_0057) & MASK

    def unit(self):
        self.state = (self.state + 0x9E37_79B9_7F4A_7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D0_49BB_1331_11EB) & MASK
        return ((z ^ (z >> 31)) >> 11) / float(1 << 53)


def components(n, edges):
    """Component index of every node (0-based), numbered by first node."""
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb
    ids = {}
    return [ids.setdefault(find(i), len(ids)) for i in range(n)]


def rgg(n, seed):
    """Edges (0-based) of src/sim/topo.rs `rgg`: radius sqrt(8/(pi n))."""
    rng = SplitMix(seed ^ 0x7267_6700)
    pts = [(rng.unit(), rng.unit()) for _ in range(n)]
    r2 = min(math.sqrt(8.0 / (math.pi * n)), 1.5) ** 2

    def d2(i, j):
        return (pts[i][0] - pts[j][0]) ** 2 + (pts[i][1] - pts[j][1]) ** 2

    edges = [(i, j) for i in range(n) for j in range(i + 1, n) if d2(i, j) <= r2]
    while True:
        comp = components(n, edges)
        count = max(comp) + 1
        if count <= 1:
            return edges
        size = [comp.count(c) for c in range(count)]
        small = min(range(count), key=lambda c: (size[c], c))
        best = None
        for i in (i for i in range(n) if comp[i] == small):
            for j in (j for j in range(n) if comp[j] != small):
                if best is None or d2(i, j) < best[0]:
                    best = (d2(i, j), min(i, j), max(i, j))
        edges.append(best[1:])


def parse(spec):
    """`chain:N`, `grid:RxC`, `rgg:N:SEED` or `twopath` -> (n, edges 1-based)."""
    kind, _, rest = spec.partition(":")
    if kind == "chain":
        n = int(rest)
        return n, [(i, i + 1) for i in range(1, n)]
    if kind == "grid":
        r, c = (int(x) for x in rest.split("x"))
        edges = [(y * c + x + 1, y * c + x + 2) for y in range(r) for x in range(c - 1)]
        edges += [(y * c + x + 1, (y + 1) * c + x + 1) for y in range(r - 1) for x in range(c)]
        return r * c, edges
    if kind == "rgg":
        n, _, seed = rest.partition(":")
        n = int(n)
        return n, [(a + 1, b + 1) for a, b in rgg(n, int(seed or 1))]
    if kind == "twopath":
        # A=1 reaches Z=5 through B=2 (two hops) or C=3, D=4 (three hops).
        return 5, [(1, 2), (2, 5), (1, 3), (3, 4), (4, 5)]
    raise ValueError(f"unknown topology {spec!r}")


def hop_counts(n, edges):
    """dist[a][b]: shortest hop count between nodes a and b (1-based)."""
    adj = {i: set() for i in range(1, n + 1)}
    for a, b in edges:
        adj[a].add(b)
        adj[b].add(a)
    dist = {}
    for s in adj:
        d = {s: 0}
        q = deque([s])
        while q:
            x = q.popleft()
            for y in adj[x]:
                if y not in d:
                    d[y] = d[x] + 1
                    q.append(y)
        dist[s] = d
    return dist
