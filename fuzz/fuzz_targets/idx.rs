//! IDX bytes, plain or gzipped, through every public IDX reader: none may panic, hang or
//! allocate beyond the limits, and what they return must agree with its own header.
//!
//! The readers take a path, so each input is written to files of this process's own first.
//! The first byte chooses the reader: images, labels, or a `Dataset<4, 10>` from a pair of
//! files (the next two bytes, little-endian, say where the input splits into the images file
//! and the labels file). The limits are 16 MiB, so that a gzip bomb that the readers wrongly
//! accepted would show as an out-of-memory report rather than pass unseen.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use nn::data::{self, Dataset, Limits};

/// The two files each input is written to: a pair per fuzzing process, in memory (`/dev/shm`)
/// where there is one, which makes the writes cheap.
fn scratch() -> &'static [PathBuf; 2] {
    static PATHS: OnceLock<[PathBuf; 2]> = OnceLock::new();
    PATHS.get_or_init(|| {
        let id = std::process::id();
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        ["images", "labels"].map(|kind| dir.join(format!("nn-fuzz-{id}-{kind}")))
    })
}

const LIMITS: Limits = Limits::new()
    .with_max_file_bytes(16 << 20)
    .with_max_dataset_bytes(64 << 20);

fuzz_target!(|input: &[u8]| {
    let Some((&mode, bytes)) = input.split_first() else {
        return;
    };
    let [path, labels_path] = scratch();
    let (bytes, labels) = match (mode % 3, bytes) {
        (2, [a, b, rest @ ..]) => {
            rest.split_at(usize::from(u16::from_le_bytes([*a, *b])).min(rest.len()))
        }
        (2, _) => return,
        _ => (bytes, &[][..]),
    };
    if std::fs::write(path, bytes).is_err() || std::fs::write(labels_path, labels).is_err() {
        return;
    }
    match mode % 3 {
        0 => {
            if let Ok(images) = data::read_images_with(path, &LIMITS) {
                assert_eq!(
                    images.pixels.len(),
                    images.len() * images.pixels_per_image()
                );
                assert!(images.pixels.len() as u64 <= LIMITS.max_file_bytes);
                if !images.is_empty() {
                    assert!(images.rows > 0 && images.cols > 0);
                }
            }
        }
        1 => {
            if let Ok(labels) = data::read_labels_with(path, &LIMITS) {
                assert!(labels.len() as u64 <= LIMITS.max_file_bytes);
            }
        }
        _ => {
            if let Ok(set) = Dataset::<4, 10>::from_idx_with(path, labels_path, &LIMITS) {
                assert_eq!(set.inputs.len(), set.labels.len());
                assert_eq!(set.targets.len(), set.labels.len());
                assert!(set.labels.iter().all(|&l| l < 10));
                assert!(set.inputs.iter().flatten().all(|x| (0.0..=1.0).contains(x)));
            }
        }
    }
});
