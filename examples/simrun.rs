fn main() {
    let a: Vec<String> = std::env::args().collect();
    let topo = &a[1];
    let dur: f64 = a.get(2).map(|s| s.parse().unwrap()).unwrap_or(60.0);
    let loss: f64 = a.get(3).map(|s| s.parse().unwrap()).unwrap_or(0.0);
    let seed: u64 = a.get(4).map(|s| s.parse().unwrap()).unwrap_or(1);
    let cuts: Vec<String> = a.get(5).map(|s| vec![s.clone()]).unwrap_or_default();
    let t = std::time::Instant::now();
    println!(
        "{}",
        roost::sim::cli(topo, loss, &cuts, &[], dur, seed).unwrap()
    );
    eprintln!("wall {:?}", t.elapsed());
}
