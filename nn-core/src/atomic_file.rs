//! Writing a file so that an existing one is never half-written.

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `parts`, one after the other, to a fresh temporary file next to `path` (a hidden
/// `.NAME.PID-N.tmp` in the same folder, so the rename stays on one file system), syncs it, then
/// renames it over `path`. A reader sees the old file or the new one, never a mix; on failure the
/// temporary file is removed and `path` is untouched.
///
/// # Errors
///
/// `InvalidInput` if `path` does not end in a file name, else the I/O error that stopped it.
pub(crate) fn write_atomically(path: &Path, parts: &[&[u8]]) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let Some(name) = path.file_name() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path does not end in a file name",
        ));
    };
    let mut temp_name = OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(
        ".{}-{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let temp = path.with_file_name(temp_name);
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)
        .and_then(|mut file| {
            for part in parts {
                file.write_all(part)?;
            }
            file.sync_all()
        })
        .and_then(|()| fs::rename(&temp, path));
    if written.is_err() {
        // Best effort: the temporary file may not even have been created.
        let _ = fs::remove_file(&temp);
    }
    written
}
