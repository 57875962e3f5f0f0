//! A temporary folder for unit tests that write files (test builds only).

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh folder under the system temp dir, unique to this process and call, removed (with
/// everything in it) when dropped.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    /// Makes a new empty folder whose name starts with `nn-core-{label}-test`.
    pub(crate) fn new(label: &str) -> Result<Self, Box<dyn std::error::Error>> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "nn-core-{label}-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        fs::create_dir_all(&dir)?;
        Ok(TempDir(dir))
    }

    /// The path of `name` inside the folder.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The names of the folder's entries, sorted.
    pub(crate) fn entries(&self) -> Result<Vec<String>, Box<dyn std::error::Error>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(&self.0)? {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
