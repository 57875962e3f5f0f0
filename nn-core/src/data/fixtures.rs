//! The files and checks the data tests share (test builds only).

use std::error::Error;
use std::fmt;
use std::io::Write;
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::Compression;

use super::error::IdxError;
use super::magic::{IMAGES_MAGIC, LABELS_MAGIC};

pub(super) type TestResult = Result<(), Box<dyn Error>>;

pub(super) fn gzip(data: &[u8]) -> Result<Vec<u8>, Box<dyn Error>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data)?;
    Ok(encoder.finish()?)
}

/// The bytes of an images file with the given header and pixels.
pub(super) fn images_bytes(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for v in [IMAGES_MAGIC, count, rows, cols] {
        bytes.extend_from_slice(&v.to_be_bytes());
    }
    bytes.extend_from_slice(pixels);
    bytes
}

/// The bytes of a labels file with the given header and labels.
pub(super) fn labels_bytes(count: u32, labels: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for v in [LABELS_MAGIC, count] {
        bytes.extend_from_slice(&v.to_be_bytes());
    }
    bytes.extend_from_slice(labels);
    bytes
}

/// The error of `result`, or a test failure if it succeeded.
pub(super) fn error_of<T: fmt::Debug>(
    result: Result<T, IdxError>,
) -> Result<IdxError, Box<dyn Error>> {
    match result {
        Ok(value) => Err(format!("expected an error, got {value:?}").into()),
        Err(e) => Ok(e),
    }
}

/// Checks that `message` contains every one of `parts`.
pub(super) fn assert_mentions(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(
            message.contains(part),
            "{message:?} should mention {part:?}"
        );
    }
    // Messages may start with a path, which may start in upper case
    // (a drive letter), so look past the temp dir.
    let temp = std::env::temp_dir().display().to_string();
    let start = message.strip_prefix(temp.as_str()).unwrap_or(message);
    assert!(
        start.starts_with(|c: char| !c.is_uppercase()) && !message.ends_with('.'),
        "{message:?} should start in lower case and end without a period"
    );
}

pub(super) fn shown(path: &Path) -> String {
    path.display().to_string()
}
