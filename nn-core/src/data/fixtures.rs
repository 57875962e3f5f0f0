//! The files and checks the data tests share (test builds only).

use std::error::Error;
use std::io::Write;
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::Compression;

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

/// A path as messages show it.
pub(super) fn shown(path: &Path) -> String {
    path.display().to_string()
}
