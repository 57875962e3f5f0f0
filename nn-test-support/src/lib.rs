//! What the tests and benches of the `nn` workspace share, written once: a reproducible
//! generator of test data and the checks every error test makes.
//!
//! A dev-dependency of `nn` (its `tests/` and `benches/`) and of `nn-core` (its unit tests),
//! never published. It depends on neither, so nn-core's own unit tests can use it without a
//! circle.
//!
//! ```
//! use nn_test_support::{assert_mentions, error_of, Data};
//!
//! let mut data = Data(7);
//! let xs = data.rows::<3>(2, Data::signed);
//! assert!(xs.iter().flatten().all(|x| (-1.0..1.0).contains(x)));
//!
//! let e = error_of("x".parse::<u8>())?;
//! assert_mentions(&e.to_string(), &["invalid digit"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod alloc_count;

pub use alloc_count::{allocations, CountingAllocator};

use std::error::Error;
use std::fmt;
use std::path::Path;

/// A small deterministic generator of test data (xorshift64, shifts 13, 7, 17), not the
/// library's: the same seed gives the same values on every machine.
///
/// The seed is the generator's state; it must not be 0 (xorshift stays at 0 forever).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Data(pub u64);

impl Data {
    /// The next value, in `[0, 1)`: the top 24 bits of the state, so every value is exact in
    /// `f32`.
    pub fn uniform(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }

    /// The next value, in `[-1, 1)`: `2 · uniform - 1`.
    pub fn signed(&mut self) -> f32 {
        2.0 * self.uniform() - 1.0
    }

    /// `n` rows of `N` values, each drawn by `f` (say [`Data::signed`]), row by row.
    pub fn rows<const N: usize>(
        &mut self,
        n: usize,
        f: impl Fn(&mut Self) -> f32,
    ) -> Vec<[f32; N]> {
        (0..n)
            .map(|_| {
                let mut r = [0.0; N];
                for v in &mut r {
                    *v = f(self);
                }
                r
            })
            .collect()
    }

    /// `n` rows of `N` values in `[lo, hi)`: `lo + (hi - lo) · uniform`.
    pub fn rows_between<const N: usize>(&mut self, n: usize, lo: f32, hi: f32) -> Vec<[f32; N]> {
        (0..n)
            .map(|_| core::array::from_fn(|_| lo + (hi - lo) * self.uniform()))
            .collect()
    }

    /// `n` one-hot rows of `N` classes, each class drawn uniformly.
    pub fn one_hot<const N: usize>(&mut self, n: usize) -> Vec<[f32; N]> {
        (0..n)
            .map(|_| {
                let mut r = [0.0; N];
                r[(self.uniform() * N as f32) as usize % N] = 1.0;
                r
            })
            .collect()
    }
}

/// The error of `result`, or a test failure (naming the value) if it succeeded.
///
/// # Errors
///
/// `"expected an error, got {value:?}"` if `result` is `Ok`.
pub fn error_of<T: fmt::Debug, E>(result: Result<T, E>) -> Result<E, Box<dyn Error>> {
    match result {
        Ok(value) => Err(format!("expected an error, got {value:?}").into()),
        Err(e) => Ok(e),
    }
}

/// Checks that `message` contains every one of `parts` and reads as a message that can be
/// embedded in another: it starts in lower case and ends without a period.
///
/// A message may start with a path, and a path may start in upper case (a drive letter), so the
/// check looks past the system's temp folder.
///
/// # Panics
///
/// If a part is missing or the message does not read as an embeddable one: it is a test.
pub fn assert_mentions(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(
            message.contains(part),
            "{message:?} should mention {part:?}"
        );
    }
    let temp = std::env::temp_dir().display().to_string();
    let start = message.strip_prefix(temp.as_str()).unwrap_or(message);
    assert!(
        start.starts_with(|c: char| !c.is_uppercase()) && !message.ends_with('.'),
        "{message:?} should start in lower case and end without a period"
    );
}

/// The names of the entries of the folder `dir`, sorted: what a test that writes files checks
/// is left behind.
///
/// # Errors
///
/// The I/O error that stopped the listing.
pub fn file_names(dir: &Path) -> Result<Vec<String>, Box<dyn Error>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        names.push(entry?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_xorshift64_and_its_ranges_hold() {
        // xorshift64 from 1: 1 ^ 1 << 13 = 0x2001, ^ >> 7 = 0x2041, ^ << 17 = 0x4082_2041.
        let mut d = Data(1);
        d.uniform();
        assert_eq!(d.0, 0x4082_2041);
        let mut d = Data(42);
        for _ in 0..1000 {
            assert!((0.0..1.0).contains(&d.uniform()));
            assert!((-1.0..1.0).contains(&d.signed()));
        }
        let rows = Data(3).rows_between::<4>(10, -2.0, 2.0);
        assert!(rows.iter().flatten().all(|v| (-2.0..2.0).contains(v)));
        let hot = Data(5).one_hot::<3>(10);
        assert!(hot.iter().all(|r| r.iter().sum::<f32>() == 1.0));
    }

    #[test]
    fn error_of_returns_the_error_and_fails_on_ok() {
        assert_eq!(error_of::<(), _>(Err(3)).ok(), Some(3));
        let failure = error_of::<_, ()>(Ok(5)).map(|_| ()).unwrap_err();
        assert_eq!(failure.to_string(), "expected an error, got 5");
    }

    #[test]
    fn file_names_lists_a_folder_sorted() -> Result<(), Box<dyn Error>> {
        let dir = std::env::temp_dir().join(format!("nn-test-support-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        for name in ["b", "a", "c"] {
            std::fs::write(dir.join(name), name)?;
        }
        let names = file_names(&dir);
        std::fs::remove_dir_all(&dir)?;
        assert_eq!(names?, ["a", "b", "c"]);
        Ok(())
    }

    #[test]
    #[should_panic(expected = "end without a period")]
    fn a_message_ending_in_a_period_fails() {
        assert_mentions("a sentence.", &["sentence"]);
    }

    #[test]
    #[should_panic(expected = "should mention")]
    fn a_missing_part_fails() {
        assert_mentions("cannot read the file", &["write"]);
    }
}
