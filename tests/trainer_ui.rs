//! Compile-fail snapshots of the trainer's diagnostics (issue 15, item 15): a target of the
//! wrong width reads in numbers. Like `tests/ui.rs`, run only on the compiler the snapshots were
//! made with (rustc 1.95); regenerate with `TRYBUILD=overwrite cargo test --test trainer_ui`.

/// The compiler version the snapshots were made with.
const SNAPSHOT_RUSTC: &str = "rustc 1.95.";

#[test]
fn trainer_ui() {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let version = std::process::Command::new(&rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_default();
    if !version.starts_with(SNAPSHOT_RUSTC) {
        println!("trainer UI tests skipped: snapshots made with rustc 1.95, this is {version}");
        return;
    }
    trybuild::TestCases::new().compile_fail("tests/ui-trainer/*.rs");
}
