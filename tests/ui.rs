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
    copy_baked_fixtures();
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}

/// The `#[weights("tests/fixtures/baked/...")]` cases read their file relative to the manifest
/// directory of the crate being compiled, which under trybuild is the project it writes in
/// `<target>/tests/trybuild/nn`: the files are copied there, so the cases name them as a user
/// would.
fn copy_baked_fixtures() {
    let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/baked");
    let target = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("..");
    let to = target.join("tests/trybuild/nn/tests/fixtures/baked");
    let copied = std::fs::create_dir_all(&to).and_then(|()| {
        for entry in std::fs::read_dir(&from)? {
            let path = entry?.path();
            if let Some(name) = path.file_name() {
                std::fs::copy(&path, to.join(name))?;
            }
        }
        Ok(())
    });
    if let Err(e) = copied {
        panic!("cannot copy {} to {}: {e}", from.display(), to.display());
    }
}
