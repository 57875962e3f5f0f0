//! The no_std crates' code, compiled against this workspace's `nn` (default features off: no
//! `std`, no `alloc`, exactly as in the static libraries) but in a crate that links `std`, so
//! that a test harness can call it. Each crate's files are included by `#[path]` in a module of
//! its name; only the panic handler (which a crate linking `std` must not have) stays behind.

pub mod baked;
pub mod convnet;
pub mod plain;
