//! Compile-fail snapshots on this workspace's `nn` (no `std`, no `alloc`): what a firmware
//! user sees when a declaration needs the heap. Run only on the compiler the snapshots were
//! made with (rustc 1.95), like the main workspace's `tests/ui.rs`; regenerate with
//! `TRYBUILD=overwrite cargo test --test ui` (in `examples/embedded`).

/// The compiler version the snapshots were made with.
const SNAPSHOT_RUSTC: &str = "rustc 1.95.";

#[test]
fn ui() {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let version = std::process::Command::new(&rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_default();
    if !version.starts_with(SNAPSHOT_RUSTC) {
        println!("UI tests skipped: snapshots made with rustc 1.95, this is {version}");
        return;
    }
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
