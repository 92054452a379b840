//! Compiles every `.proto` file under `proto/kesos` with protox (pure Rust), so that building
//! kesos needs no system `protoc`.

use std::path::{Path, PathBuf};

fn proto_files(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            proto_files(&path, found)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            found.push(path);
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let mut files = Vec::new();
    proto_files(&root.join("kesos"), &mut files)?;
    files.sort();
    println!("cargo:rerun-if-changed=kesos");
    let descriptors = protox::compile(&files, [&root])?;
    prost_build::Config::new()
        .btree_map(["."])
        .compile_fds(descriptors)?;
    Ok(())
}
