use roost::sim::*;
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let mut c = SimConfig::new(
        Topology::parse(&a[1], a[4].parse().unwrap()).unwrap(),
        a[2].parse::<u64>().unwrap() * 1000,
        a[4].parse().unwrap(),
    );
    c.loss = a[3].parse().unwrap();
    c.measure_from_ms = Some(180_000);
    println!("{:?}", Sim::new(c).run());
}
