//! Compile-fail UI tests for `network!`: every diagnostic the macro (and the traits it leans on)
//! can give a user is pinned in a reviewed `.stderr` snapshot under `tests/ui/`, one small
//! program per diagnostic; `tests/ui/pass/` holds programs that must compile and run.
//!
//! The snapshots hold rustc's exact rendering, which changes between compiler releases, so this
//! test only runs them on the compiler they were made with, rustc 1.95. On any other version it
//! prints why it skipped and passes.
//!
//! After a deliberate change to a message (or to move to a new rustc), regenerate the snapshots
//! with
//!
//! ```text
//! TRYBUILD=overwrite cargo test --test ui
//! ```
//!
//! then read every changed `.stderr` as a reviewer would: each message names the layer and the
//! numbers involved and points at the user's token, with no cascade of secondary errors. Update
//! the version prefix below when moving to a new rustc.

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
        .unwrap_or_else(|| format!("unknown (`{} --version` failed)", rustc.to_string_lossy()));
    if !version.starts_with(SNAPSHOT_RUSTC) {
        println!(
            "UI tests skipped: the snapshots in tests/ui were made with rustc 1.95 and this is \
             {version}"
        );
        return;
    }
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
