//! kesos
fn main() {}
