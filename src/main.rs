fn main() {
    println!("roost");
}
