//! Topologies: `chain:N`, `ring:N`, `grid:RxC`, `rgg:N[:SEED]` (connected
//! random geometric graph), `twopath:K` and explicit `edges:N:a-b,c-d,...`.

use super::SplitMix;

/// An undirected graph on nodes 0..n.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    pub name: String,
    pub n: usize,
    pub edges: Vec<(usize, usize)>,
}

impl Topology {
    /// Parses a topology spec; `seed` is used by `rgg` when it has none.
    pub fn parse(spec: &str, seed: u64) -> Result<Topology, String> {
        let bad = || {
            format!("bad topology '{spec}' (chain:N, ring:N, grid:RxC, rgg:N[:SEED], twopath:K, edges:N:a-b,...)")
        };
        let (kind, rest) = spec.split_once(':').ok_or_else(bad)?;
        let num = |s: &str| s.trim().parse::<usize>().map_err(|_| bad());
        let mut edges = Vec::new();
        let n = match kind {
            "chain" | "ring" => {
                let n = num(rest)?;
                if n < 2 {
                    return Err(bad());
                }
                for i in 0..n - 1 {
                    edges.push((i, i + 1));
                }
                if kind == "ring" && n > 2 {
                    edges.push((n - 1, 0));
                }
                n
            }
            "grid" => {
                let (r, c) = rest.split_once('x').ok_or_else(bad)?;
                let (r, c) = (num(r)?, num(c)?);
                if r * c < 2 {
                    return Err(bad());
                }
                for y in 0..r {
                    for x in 0..c {
                        let i = y * c + x;
                        if x + 1 < c {
                            edges.push((i, i + 1));
                        }
                        if y + 1 < r {
                            edges.push((i, i + c));
                        }
                    }
                }
                r * c
            }
            "rgg" => {
                let (n, s) = match rest.split_once(':') {
                    Some((n, s)) => (num(n)?, num(s)? as u64),
                    None => (num(rest)?, seed),
                };
                if n < 2 {
                    return Err(bad());
                }
                edges = rgg(n, s);
                n
            }
            "twopath" => {
                // A = 0, Z = 1; path 1 through 2..2+K, path 2 one hop longer.
                let k = num(rest)?.max(1);
                let mut prev = 0;
                for i in 0..k {
                    edges.push((prev, 2 + i));
                    prev = 2 + i;
                }
                edges.push((prev, 1));
                let base = 2 + k;
                prev = 0;
                for i in 0..=k {
                    edges.push((prev, base + i));
                    prev = base + i;
                }
                edges.push((prev, 1));
                base + k + 1
            }
            "edges" => {
                let (n, list) = rest.split_once(':').ok_or_else(bad)?;
                let n = num(n)?;
                for e in list.split(',') {
                    let (a, b) = e.split_once('-').ok_or_else(bad)?;
                    let (a, b) = (num(a)?, num(b)?);
                    if a >= n || b >= n || a == b {
                        return Err(bad());
                    }
                    edges.push((a.min(b), a.max(b)));
                }
                n
            }
            _ => return Err(bad()),
        };
        for e in &mut edges {
            *e = (e.0.min(e.1), e.0.max(e.1));
        }
        edges.sort();
        edges.dedup();
        Ok(Topology {
            name: spec.to_string(),
            n,
            edges,
        })
    }

    pub fn adjacency(&self) -> Vec<Vec<usize>> {
        let mut adj = vec![Vec::new(); self.n];
        for &(a, b) in &self.edges {
            adj[a].push(b);
            adj[b].push(a);
        }
        for l in &mut adj {
            l.sort();
        }
        adj
    }
}

/// Points in the unit square joined within radius r, chosen for a mean
/// degree near 8 (a typical community mesh); the connected components are
/// then joined by their geometrically shortest links, one at a time (as
/// Kruskal's algorithm would), so the graph is connected without raising
/// the radius (and the degree) everywhere.
fn rgg(n: usize, seed: u64) -> Vec<(usize, usize)> {
    let mut rng = SplitMix::new(seed ^ 0x7267_6700);
    let pts: Vec<(f64, f64)> = (0..n).map(|_| (rng.unit(), rng.unit())).collect();
    let r = (8.0 / (std::f64::consts::PI * n as f64)).sqrt().min(1.5);
    let d2 = |i: usize, j: usize| (pts[i].0 - pts[j].0).powi(2) + (pts[i].1 - pts[j].1).powi(2);
    // Grid buckets keep the radius search O(n).
    let cells = ((1.0 / r).floor() as usize).max(1);
    let cell = |p: (f64, f64)| {
        (
            ((p.0 * cells as f64) as usize).min(cells - 1),
            ((p.1 * cells as f64) as usize).min(cells - 1),
        )
    };
    let mut buckets = vec![Vec::new(); cells * cells];
    for (i, p) in pts.iter().enumerate() {
        let (x, y) = cell(*p);
        buckets[y * cells + x].push(i);
    }
    let mut edges = Vec::new();
    for (i, p) in pts.iter().enumerate() {
        let (x, y) = cell(*p);
        for dy in 0..3usize {
            for dx in 0..3usize {
                let (nx, ny) = ((x + dx).wrapping_sub(1), (y + dy).wrapping_sub(1));
                if nx >= cells || ny >= cells {
                    continue;
                }
                for &j in &buckets[ny * cells + nx] {
                    if j > i && d2(i, j) <= r * r {
                        edges.push((i, j));
                    }
                }
            }
        }
    }
    // Join components: repeatedly link the smallest component to the
    // nearest node outside it.
    loop {
        let comp = components(n, &edges);
        let count = comp.iter().copied().max().map_or(0, |m| m + 1);
        if count <= 1 {
            return edges;
        }
        let mut size = vec![0usize; count];
        for &c in &comp {
            size[c] += 1;
        }
        let small = (0..count).min_by_key(|&c| (size[c], c)).unwrap_or(0);
        let mut best: Option<(f64, usize, usize)> = None;
        for i in (0..n).filter(|&i| comp[i] == small) {
            for j in (0..n).filter(|&j| comp[j] != small) {
                let d = d2(i, j);
                if best.is_none_or(|(bd, _, _)| d < bd) {
                    best = Some((d, i.min(j), i.max(j)));
                }
            }
        }
        match best {
            Some((_, a, b)) => edges.push((a, b)),
            None => return edges,
        }
    }
}

/// Component index of every node.
fn components(n: usize, edges: &[(usize, usize)]) -> Vec<usize> {
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    for &(a, b) in edges {
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        if ra != rb {
            parent[ra] = rb;
        }
    }
    let mut ids = std::collections::HashMap::new();
    (0..n)
        .map(|i| {
            let r = find(&mut parent, i);
            let next = ids.len();
            *ids.entry(r).or_insert(next)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(
            Topology::parse("chain:3", 0).unwrap().edges,
            vec![(0, 1), (1, 2)]
        );
        assert_eq!(Topology::parse("ring:4", 0).unwrap().edges.len(), 4);
        assert_eq!(Topology::parse("grid:4x4", 0).unwrap().edges.len(), 24);
        let t = Topology::parse("twopath:1", 0).unwrap();
        assert_eq!(t.n, 5);
        assert_eq!(t.edges, vec![(0, 2), (0, 3), (1, 2), (1, 4), (3, 4)]);
        let e = Topology::parse("edges:3:0-1,2-1", 0).unwrap();
        assert_eq!(e.edges, vec![(0, 1), (1, 2)]);
        assert!(Topology::parse("edges:3:0-5", 0).is_err());
        assert!(Topology::parse("blob:3", 0).is_err());
        let a = Topology::parse("rgg:100:7", 0).unwrap();
        let b = Topology::parse("rgg:100:7", 0).unwrap();
        assert_eq!(a, b);
        assert_eq!(components(a.n, &a.edges).iter().max(), Some(&0));
    }
}
