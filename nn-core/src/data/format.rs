//! The IDX format itself: reading an images or labels file, plain or gzipped, and writing
//! one.

use std::fmt;
use std::io::{self, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use super::error::IdxError;
use super::limits::{Limit, Limits};
use super::magic::{IMAGES_MAGIC, LABELS_MAGIC};
use crate::file_check::open_regular;

/// The largest data section the reader accepts whatever the [`Limits`], in bytes: the most a
/// `Vec` can hold.
const MAX_DATA_LEN: u64 = isize::MAX as u64;

/// The smallest step by which the buffer for gzip data grows. Each step is a quarter of what
/// has arrived so far, at least this, and never past the declared size, so the buffer holds at
/// most `1.25 * arrived + GROW_STEP` bytes (while it grows, the system allocator may hold the
/// old block beside the new one for a moment: `2.25 * arrived` at worst), and copying it as it
/// grows costs at most four more passes over the data.
const GROW_STEP: usize = 64 << 10;

/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Raw images as read from an IDX file.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct IdxImages {
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// All pixels, `len() * rows * cols` of them: row-major, one image after
    /// another, 0 for background and 255 for full ink in MNIST.
    pub pixels: Vec<u8>,
}

impl IdxImages {
    /// The number of images.
    #[must_use]
    pub fn len(&self) -> usize {
        self.pixels
            .len()
            .checked_div(self.pixels_per_image())
            .unwrap_or(0)
    }

    /// Whether there are no images.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Pixels in one image: `rows * cols`.
    #[must_use]
    pub fn pixels_per_image(&self) -> usize {
        self.rows.saturating_mul(self.cols)
    }

    /// The pixels of image `i`, row-major, or `None` if there is no such
    /// image.
    #[must_use]
    pub fn image(&self, i: usize) -> Option<&[u8]> {
        if i >= self.len() {
            return None;
        }
        let size = self.pixels_per_image();
        let start = i.checked_mul(size)?;
        self.pixels.get(start..start.checked_add(size)?)
    }
}

impl fmt::Debug for IdxImages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdxImages")
            .field("len", &self.len())
            .field("rows", &self.rows)
            .field("cols", &self.cols)
            .finish_non_exhaustive()
    }
}

/// The two kinds of IDX file this module reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Images,
    Labels,
}

impl Kind {
    fn magic(self) -> u32 {
        match self {
            Kind::Images => IMAGES_MAGIC,
            Kind::Labels => LABELS_MAGIC,
        }
    }

    /// The data section, for messages: `pixel data (10 x 28 x 28)`.
    fn data_name(self, dims: &[u32]) -> String {
        let joined: Vec<String> = dims.iter().map(u32::to_string).collect();
        match self {
            Kind::Images => format!("pixel data ({})", joined.join(" x ")),
            Kind::Labels => format!("labels ({} x 1)", joined.join(" x ")),
        }
    }

    /// The declared items, for messages: `10 images of 28x28`.
    fn items_name(self, dims: &[u32]) -> String {
        match (self, dims) {
            (Kind::Images, [count, rows, cols]) => format!("{count} images of {rows}x{cols}"),
            (Kind::Labels, [count]) => format!("{count} labels"),
            _ => format!("{dims:?}"),
        }
    }
}

/// An opened IDX file, positioned at its start, decompressing if need be.
struct Source<'a> {
    path: &'a Path,
    reader: Box<dyn Read>,
    /// Whether the file is gzip-compressed.
    gzip: bool,
    /// The length of the file on disk, for an uncompressed file.
    plain_len: Option<u64>,
}

impl<'a> Source<'a> {
    /// Opens `path` if it is a regular file (a FIFO or a device is refused rather than read
    /// without end; see [`crate::file_check`]) and looks at its first bytes for gzip's magic.
    fn open(path: &'a Path) -> Result<Self, IdxError> {
        let io_error = |source| IdxError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = open_regular(path).map_err(io_error)?;
        let file_len = file.metadata().map_err(io_error)?.len();
        let mut start = [0u8; 2];
        let n = read_up_to(&mut file, &mut start).map_err(io_error)?;
        let gzip = start[..n] == GZIP_MAGIC;
        let whole = io::Cursor::new(start).take(n as u64).chain(file);
        Ok(if gzip {
            Source {
                path,
                reader: Box::new(MultiGzDecoder::new(whole)),
                gzip,
                plain_len: None,
            }
        } else {
            Source {
                path,
                reader: Box::new(whole),
                gzip,
                plain_len: Some(file_len),
            }
        })
    }

    /// Turns an error from reading into the right variant: damage to a gzip
    /// stream shows up as `InvalidInput`, `InvalidData` or `UnexpectedEof`.
    fn error(&self, source: io::Error) -> IdxError {
        let path = self.path.to_path_buf();
        let corrupt = matches!(
            source.kind(),
            io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
        );
        if self.gzip && corrupt {
            IdxError::GzipCorrupt { path, source }
        } else {
            IdxError::Io { path, source }
        }
    }

    /// Reads into `buf` until it is full or the data ends; returns how much
    /// was read.
    fn read_up_to(&mut self, buf: &mut [u8]) -> Result<usize, IdxError> {
        read_up_to(&mut self.reader, buf).map_err(|e| self.error(e))
    }

    /// Reads up to `len` bytes, or until the data ends, into a buffer that grows as the data
    /// arrives (see [`GROW_STEP`]) after `reserve` bytes reserved up front.
    fn read_growing(&mut self, len: usize, reserve: usize) -> Result<Vec<u8>, IdxError> {
        let mut data: Vec<u8> = Vec::new();
        let mut filled = 0;
        let mut step = reserve.min(len);
        while filled < len {
            if filled == data.len() {
                step = step.max(filled / 4).max(GROW_STEP).min(len - filled);
                data.try_reserve_exact(step).map_err(|e| {
                    self.error(io::Error::new(
                        io::ErrorKind::OutOfMemory,
                        format!("cannot allocate {} bytes: {e}", filled + step),
                    ))
                })?;
                data.resize(filled + step, 0);
                step = 0;
            }
            match self.reader.read(&mut data[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.error(e)),
            }
        }
        data.truncate(filled);
        Ok(data)
    }
}

/// Reads into `buf` until it is full or the reader is exhausted.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Reads and checks a whole IDX file of the given kind, with `D`
/// dimensions; returns the dimensions and the data.
///
/// Everything that can be decided from the header is decided before any memory is allocated
/// for the data: the declared size against what memory can hold and against
/// `limits.max_file_bytes`, against the file's length for a plain file, and the caller's
/// `check` of the dimensions. Gzip data is then read into a buffer that grows as the data
/// arrives, so a file that declares more than it holds costs only what it holds.
fn read_idx<const D: usize>(
    path: &Path,
    kind: Kind,
    limits: &Limits,
    check: impl FnOnce(&[u32; D]) -> Result<(), IdxError>,
) -> Result<([u32; D], Vec<u8>), IdxError> {
    let mut source = Source::open(path)?;

    // The magic number, then one big-endian u32 per dimension.
    let header_len = 4 * (1 + D);
    let mut header = vec![0u8; header_len];
    let n = source.read_up_to(&mut header)?;
    if let Some(&[a, b, c, d]) = header.get(..4) {
        let found = u32::from_be_bytes([a, b, c, d]);
        if n >= 4 && found != kind.magic() {
            return Err(IdxError::BadMagic {
                path: path.to_path_buf(),
                expected: kind.magic(),
                found,
            });
        }
    }
    if n < header_len {
        return Err(IdxError::Truncated {
            path: path.to_path_buf(),
            what: format!("header (magic number and {D} dimensions)"),
            expected: header_len as u64,
            found: n as u64,
        });
    }
    let mut dims = [0u32; D];
    for (dim, bytes) in dims.iter_mut().zip(header.chunks_exact(4).skip(1)) {
        if let &[a, b, c, d] = bytes {
            *dim = u32::from_be_bytes([a, b, c, d]);
        }
    }

    let too_large = || IdxError::TooLarge {
        path: path.to_path_buf(),
        what: kind.data_name(&dims),
        limit: MAX_DATA_LEN,
    };
    let data_len = dims
        .iter()
        .try_fold(1u64, |len, &d| len.checked_mul(u64::from(d)))
        .filter(|&len| len <= MAX_DATA_LEN)
        .ok_or_else(too_large)?;
    let data_capacity = usize::try_from(data_len).map_err(|_| too_large())?;
    let total_len = data_len + header_len as u64;

    // Compare the declared size with the file before allocating anything.
    if let Some(file_len) = source.plain_len {
        let available = file_len.saturating_sub(header_len as u64);
        if available < data_len {
            return Err(IdxError::Truncated {
                path: path.to_path_buf(),
                what: kind.data_name(&dims),
                expected: data_len,
                found: available,
            });
        }
        if available > data_len {
            return Err(IdxError::TrailingData {
                path: path.to_path_buf(),
                what: kind.items_name(&dims),
                expected: total_len,
                found: Some(file_len),
            });
        }
    }
    if data_len > limits.max_file_bytes {
        return Err(IdxError::LimitExceeded {
            path: path.to_path_buf(),
            what: format!("the declared {}", kind.data_name(&dims)),
            limit: Limit::FileBytes,
            size: data_len,
            max: limits.max_file_bytes,
        });
    }
    check(&dims)?;

    // A plain file is known to hold the declared data, so it is read into one buffer of
    // that size; the length of gzip data is unknown until it has been decompressed, so its
    // buffer grows with the data actually present.
    let reserve = if source.gzip { 0 } else { data_capacity };
    let data = source.read_growing(data_capacity, reserve)?;
    if (data.len() as u64) < data_len {
        return Err(IdxError::Truncated {
            path: path.to_path_buf(),
            what: kind.data_name(&dims),
            expected: data_len,
            found: data.len() as u64,
        });
    }

    // Anything after the declared data is an error. For gzip this read also
    // makes the decoder check the stream's checksum.
    if source.read_up_to(&mut [0u8; 1])? > 0 {
        return Err(IdxError::TrailingData {
            path: path.to_path_buf(),
            what: kind.items_name(&dims),
            expected: total_len,
            found: None,
        });
    }
    Ok((dims, data))
}

/// Reads an IDX images file (magic `0x00000803`), plain or gzipped, within the default
/// [`Limits`] (see [`read_images_with`]).
///
/// # Errors
///
/// As for [`read_images_with`].
pub fn read_images(path: impl AsRef<Path>) -> Result<IdxImages, IdxError> {
    read_images_with(path, &Limits::default())
}

/// Reads an IDX images file (magic `0x00000803`), plain or gzipped, refusing one whose
/// declared pixel data is larger than `limits.max_file_bytes` before allocating for it.
///
/// # Errors
///
/// [`IdxError::Io`] or [`IdxError::GzipCorrupt`] if the file cannot be read
/// or decompressed, or is not a regular file; [`IdxError::BadMagic`] if it is not an images
/// file; [`IdxError::Truncated`], [`IdxError::TrailingData`] or
/// [`IdxError::TooLarge`] if its length does not match its header;
/// [`IdxError::LimitExceeded`] if it declares more than the limit;
/// [`IdxError::EmptyImages`] if it declares images of zero rows or columns.
pub fn read_images_with(path: impl AsRef<Path>, limits: &Limits) -> Result<IdxImages, IdxError> {
    read_images_checked(path.as_ref(), limits, |_, _, _| Ok(()))
}

/// [`read_images_with`], calling `check(count, rows, cols)` once the header is known to be
/// sound and before the pixels are read.
pub(super) fn read_images_checked(
    path: &Path,
    limits: &Limits,
    check: impl FnOnce(usize, usize, usize) -> Result<(), IdxError>,
) -> Result<IdxImages, IdxError> {
    let mut shape = (0, 0);
    let (_, data) = read_idx::<3>(path, Kind::Images, limits, |dims| {
        // The data fits in memory, so each dimension fits in a usize.
        let [count, rows, cols] = dims.map(|d| usize::try_from(d).unwrap_or(usize::MAX));
        if count > 0 && (rows == 0 || cols == 0) {
            return Err(IdxError::EmptyImages {
                path: path.to_path_buf(),
                count,
                rows,
                cols,
            });
        }
        shape = (rows, cols);
        check(count, rows, cols)
    })?;
    Ok(IdxImages {
        rows: shape.0,
        cols: shape.1,
        pixels: data,
    })
}

/// Reads an IDX labels file (magic `0x00000801`), plain or gzipped: one byte per item,
/// within the default [`Limits`] (see [`read_labels_with`]).
///
/// # Errors
///
/// As for [`read_labels_with`].
pub fn read_labels(path: impl AsRef<Path>) -> Result<Vec<u8>, IdxError> {
    read_labels_with(path, &Limits::default())
}

/// Reads an IDX labels file (magic `0x00000801`), plain or gzipped, refusing one that declares
/// more than `limits.max_file_bytes` labels before allocating for them.
///
/// # Errors
///
/// [`IdxError::Io`] or [`IdxError::GzipCorrupt`] if the file cannot be read
/// or decompressed, or is not a regular file; [`IdxError::BadMagic`] if it is not a labels
/// file; [`IdxError::Truncated`], [`IdxError::TrailingData`] or
/// [`IdxError::TooLarge`] if its length does not match its header;
/// [`IdxError::LimitExceeded`] if it declares more than the limit.
pub fn read_labels_with(path: impl AsRef<Path>, limits: &Limits) -> Result<Vec<u8>, IdxError> {
    read_idx::<1>(path.as_ref(), Kind::Labels, limits, |_| Ok(())).map(|(_, data)| data)
}

/// Writes an uncompressed IDX images file of `rows x cols` images;
/// `pixels` holds them row-major, one after another, and its length must be
/// a whole number of images.
///
/// The data goes to a temporary file in the same folder, which is then
/// renamed over `path`, so an existing file is never left half-written.
///
/// # Errors
///
/// [`IdxError::InvalidWrite`] if `pixels` is not a whole number of images or
/// a dimension does not fit the header's 32 bits; [`IdxError::Write`] if the
/// file cannot be written.
pub fn write_images(
    path: impl AsRef<Path>,
    rows: usize,
    cols: usize,
    pixels: &[u8],
) -> Result<(), IdxError> {
    let path = path.as_ref();
    let invalid = |reason: String| IdxError::InvalidWrite {
        path: path.to_path_buf(),
        reason,
    };
    let per_image = rows
        .checked_mul(cols)
        .ok_or_else(|| invalid(format!("images of {rows}x{cols} pixels are too large")))?;
    let len = pixels.len();
    let count = match len.checked_div(per_image) {
        Some(count) if count * per_image == len => count,
        Some(_) => {
            return Err(invalid(format!(
            "{len} pixels are not a whole number of {rows}x{cols} images ({per_image} pixels each)"
        )))
        }
        None if len == 0 => 0,
        None => {
            return Err(invalid(format!(
                "{len} pixels cannot be split into images of {rows}x{cols} = 0 pixels"
            )))
        }
    };
    let header = header_u32(&[
        ("magic", IMAGES_MAGIC as usize),
        ("image count", count),
        ("row count", rows),
        ("column count", cols),
    ])
    .map_err(invalid)?;
    write_atomically(path, &[&header, pixels])
}

/// Writes an uncompressed IDX labels file, one byte per item.
///
/// The data goes to a temporary file in the same folder, which is then
/// renamed over `path`, so an existing file is never left half-written.
///
/// # Errors
///
/// [`IdxError::InvalidWrite`] if there are more labels than the header's 32
/// bits can count; [`IdxError::Write`] if the file cannot be written.
pub fn write_labels(path: impl AsRef<Path>, labels: &[u8]) -> Result<(), IdxError> {
    let path = path.as_ref();
    let header = header_u32(&[
        ("magic", LABELS_MAGIC as usize),
        ("label count", labels.len()),
    ])
    .map_err(|reason| IdxError::InvalidWrite {
        path: path.to_path_buf(),
        reason,
    })?;
    write_atomically(path, &[&header, labels])
}

/// Encodes header fields as big-endian `u32`s, or says which does not fit.
fn header_u32(fields: &[(&str, usize)]) -> Result<Vec<u8>, String> {
    let mut header = Vec::with_capacity(4 * fields.len());
    for &(name, value) in fields {
        let value = u32::try_from(value)
            .map_err(|_| format!("the {name} {value} does not fit in 32 bits"))?;
        header.extend_from_slice(&value.to_be_bytes());
    }
    Ok(header)
}

/// Writes `parts` through a temporary file (see [`crate::atomic_file`]), naming `path` in
/// the error.
fn write_atomically(path: &Path, parts: &[&[u8]]) -> Result<(), IdxError> {
    if path.file_name().is_none() {
        return Err(IdxError::InvalidWrite {
            path: path.to_path_buf(),
            reason: "the path does not end in a file name".to_owned(),
        });
    }
    crate::atomic_file::write_atomically(path, parts).map_err(|source| IdxError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::fixtures::{gzip, images_bytes, labels_bytes, shown, TestResult};
    use nn_test_support::{assert_mentions, error_of};
    use std::error::Error;
    use std::ffi::OsString;
    use std::fs;

    #[test]
    fn gzip_with_several_members_is_read_whole() -> TestResult {
        let dir = tempfile::tempdir()?;
        let bytes = labels_bytes(6, &[1, 2, 3, 4, 5, 6]);
        let mut two_members = gzip(&bytes[..10])?;
        two_members.extend(gzip(&bytes[10..])?);
        fs::write(dir.path().join("labels.gz"), two_members)?;
        assert_eq!(
            read_labels(dir.path().join("labels.gz"))?,
            vec![1, 2, 3, 4, 5, 6]
        );
        Ok(())
    }

    #[test]
    fn missing_file_is_an_io_error_naming_the_path() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("no-such-file");
        let err = error_of(read_images(&path))?;
        assert!(
            matches!(&err, IdxError::Io { path: p, .. } if *p == path),
            "{err:?}"
        );
        assert_mentions(&err.to_string(), &["cannot read", &shown(&path)]);
        let source = err.source().ok_or("no source")?;
        assert!(source.downcast_ref::<io::Error>().is_some());
        let err = error_of(read_labels(&path))?;
        assert!(matches!(err, IdxError::Io { .. }), "{err:?}");
        Ok(())
    }

    #[test]
    fn corrupt_gzip_is_reported() -> TestResult {
        let dir = tempfile::tempdir()?;
        let good = gzip(&images_bytes(2, 4, 4, &[7; 32]))?;

        let mut flipped = good.clone();
        for b in &mut flipped[12..20] {
            *b ^= 0xa5;
        }
        let truncated = good[..good.len() - 6].to_vec();
        let mut bad_checksum = good.clone();
        let crc_at = good.len() - 8;
        bad_checksum[crc_at] ^= 0xff;
        let mut garbage_after = good;
        garbage_after.extend_from_slice(b"garbage");

        for (name, bytes) in [
            ("flipped.gz", flipped),
            ("truncated.gz", truncated),
            ("bad-checksum.gz", bad_checksum),
            ("garbage-after.gz", garbage_after),
        ] {
            let path = dir.path().join(name);
            fs::write(&path, bytes)?;
            let err = error_of(read_images(&path))?;
            assert!(
                matches!(err, IdxError::GzipCorrupt { .. }),
                "{name}: {err:?}"
            );
            assert_mentions(&err.to_string(), &[&shown(&path), "gzip data is corrupt"]);
            assert!(err.source().is_some());
        }
        Ok(())
    }

    #[test]
    fn wrong_magic_says_what_the_file_looks_like() -> TestResult {
        let dir = tempfile::tempdir()?;
        let (images, labels, other) = (
            dir.path().join("images"),
            dir.path().join("labels"),
            dir.path().join("other"),
        );
        write_images(&images, 2, 2, &[1, 2, 3, 4])?;
        write_labels(&labels, &[1])?;
        fs::write(&other, [0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0])?;

        let err = error_of(read_images(&labels))?;
        assert!(
            matches!(
                err,
                IdxError::BadMagic {
                    expected: 0x803,
                    found: 0x801,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_mentions(
            &err.to_string(),
            &[
                &shown(&labels),
                "expected magic 0x00000803",
                "found 0x00000801",
                "this looks like an IDX labels file",
            ],
        );

        let err = error_of(read_labels(&images))?;
        assert!(
            matches!(
                err,
                IdxError::BadMagic {
                    expected: 0x801,
                    found: 0x803,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_mentions(
            &err.to_string(),
            &[
                &shown(&images),
                "expected magic 0x00000801",
                "found 0x00000803",
                "this looks like an IDX images file",
            ],
        );

        let err = error_of(read_labels(&other))?;
        assert!(
            matches!(
                err,
                IdxError::BadMagic {
                    found: 0x1234_5678,
                    ..
                }
            ),
            "{err:?}"
        );
        let message = err.to_string();
        assert_mentions(
            &message,
            &[&shown(&other), "0x00000801", "found 0x12345678"],
        );
        assert!(!message.contains("looks like"), "{message}");

        // An IDX file of floats, gzipped.
        let floats = dir.path().join("floats.gz");
        fs::write(
            &floats,
            gzip(&[0, 0, 0x0d, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0])?,
        )?;
        let err = error_of(read_images(&floats))?;
        assert!(
            matches!(err, IdxError::BadMagic { found: 0x0d02, .. }),
            "{err:?}"
        );
        assert_mentions(
            &err.to_string(),
            &["found 0x00000d02", "32-bit floats in 2 dimensions"],
        );

        let twice = dir.path().join("twice.gz");
        fs::write(&twice, gzip(&gzip(&labels_bytes(1, &[1]))?)?)?;
        let err = error_of(read_labels(&twice))?;
        assert!(matches!(err, IdxError::BadMagic { .. }), "{err:?}");
        assert_mentions(&err.to_string(), &["found 0x1f8b", "compressed twice"]);
        Ok(())
    }

    #[test]
    fn truncated_header_is_reported() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("short");
        fs::write(&path, &images_bytes(1, 1, 1, &[])[..7])?;
        let err = error_of(read_images(&path))?;
        assert!(
            matches!(
                err,
                IdxError::Truncated {
                    expected: 16,
                    found: 7,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_mentions(
            &err.to_string(),
            &[&shown(&path), "expected 16 bytes of header", "found 7"],
        );

        fs::write(&path, [])?;
        let err = error_of(read_labels(&path))?;
        assert!(
            matches!(
                err,
                IdxError::Truncated {
                    expected: 8,
                    found: 0,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_mentions(
            &err.to_string(),
            &[&shown(&path), "expected 8 bytes of header", "found 0"],
        );
        Ok(())
    }

    #[test]
    fn truncated_data_is_reported_plain_and_gzipped() -> TestResult {
        let dir = tempfile::tempdir()?;
        let bytes = images_bytes(10, 2, 2, &[5; 7]);
        let (plain, gz) = (dir.path().join("plain"), dir.path().join("gz"));
        fs::write(&plain, &bytes)?;
        fs::write(&gz, gzip(&bytes)?)?;
        for path in [plain, gz] {
            let err = error_of(read_images(&path))?;
            assert!(
                matches!(
                    err,
                    IdxError::Truncated {
                        expected: 40,
                        found: 7,
                        ..
                    }
                ),
                "{err:?}"
            );
            assert_mentions(
                &err.to_string(),
                &[
                    &shown(&path),
                    "truncated",
                    "expected 40 bytes of pixel data (10 x 2 x 2)",
                    "found 7",
                ],
            );
        }

        let labels = dir.path().join("labels");
        fs::write(&labels, labels_bytes(5, &[1, 2]))?;
        let err = error_of(read_labels(&labels))?;
        assert!(
            matches!(
                err,
                IdxError::Truncated {
                    expected: 5,
                    found: 2,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_mentions(
            &err.to_string(),
            &[&shown(&labels), "expected 5 bytes of labels", "found 2"],
        );
        Ok(())
    }

    #[test]
    fn trailing_data_is_an_error_plain_and_gzipped() -> TestResult {
        let dir = tempfile::tempdir()?;
        let bytes = images_bytes(4, 2, 2, &[9; 17]);
        let (plain, gz) = (dir.path().join("plain"), dir.path().join("gz"));
        fs::write(&plain, &bytes)?;
        fs::write(&gz, gzip(&bytes)?)?;

        let err = error_of(read_images(&plain))?;
        assert!(
            matches!(
                err,
                IdxError::TrailingData {
                    expected: 32,
                    found: Some(33),
                    ..
                }
            ),
            "{err:?}"
        );
        assert_mentions(
            &err.to_string(),
            &[
                &shown(&plain),
                "after the declared 4 images of 2x2",
                "expected exactly 32 bytes",
                "found 33",
            ],
        );

        let err = error_of(read_images(&gz))?;
        assert!(
            matches!(
                err,
                IdxError::TrailingData {
                    expected: 32,
                    found: None,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_mentions(
            &err.to_string(),
            &[&shown(&gz), "expected exactly 32 bytes", "found more"],
        );

        let labels = dir.path().join("labels");
        fs::write(&labels, labels_bytes(1, &[1, 2]))?;
        let err = error_of(read_labels(&labels))?;
        assert!(
            matches!(err, IdxError::TrailingData { expected: 9, .. }),
            "{err:?}"
        );
        assert_mentions(
            &err.to_string(),
            &[
                &shown(&labels),
                "1 labels",
                "expected exactly 9 bytes",
                "found 10",
            ],
        );
        Ok(())
    }

    #[test]
    fn huge_declared_sizes_are_refused_before_allocating() -> TestResult {
        let dir = tempfile::tempdir()?;

        // count * rows * cols overflows 64 bits.
        let overflow = dir.path().join("overflow");
        fs::write(
            &overflow,
            images_bytes(u32::MAX, u32::MAX, u32::MAX, &[1, 2, 3]),
        )?;
        let err = error_of(read_images(&overflow))?;
        assert!(matches!(err, IdxError::TooLarge { .. }), "{err:?}");
        assert_mentions(
            &err.to_string(),
            &[
                &shown(&overflow),
                "pixel data (4294967295 x 4294967295 x 4294967295) is too large",
                &format!("at most {MAX_DATA_LEN} bytes"),
            ],
        );

        // 2^31 * 2^16 * 2^16 = 2^63 bytes: past what a Vec can hold.
        let beyond = dir.path().join("beyond.gz");
        fs::write(
            &beyond,
            gzip(&images_bytes(1 << 31, 1 << 16, 1 << 16, &[0; 100]))?,
        )?;
        let err = error_of(read_images(&beyond))?;
        assert!(matches!(err, IdxError::TooLarge { .. }), "{err:?}");
        assert_mentions(
            &err.to_string(),
            &[&shown(&beyond), "2147483648 x 65536 x 65536"],
        );

        // Large but representable: checked against the file length (plain)
        // or read incrementally (gzip), so only the data present is held.
        let plain = dir.path().join("plain");
        let bytes = images_bytes(u32::MAX, 60_000, 1, &[3; 1000]);
        fs::write(&plain, &bytes)?;
        let err = error_of(read_images(&plain))?;
        assert!(
            matches!(
                err,
                IdxError::Truncated {
                    expected: 257_698_037_700_000,
                    found: 1000,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_mentions(
            &err.to_string(),
            &[
                &shown(&plain),
                "expected 257698037700000 bytes",
                "found 1000",
            ],
        );
        // Gzipped, the declared size is over the default limit and refused unread; without
        // limits the data is read as it arrives and found short.
        let gz = dir.path().join("gz");
        fs::write(&gz, gzip(&bytes)?)?;
        let err = error_of(read_images(&gz))?;
        assert!(
            matches!(
                err,
                IdxError::LimitExceeded {
                    limit: Limit::FileBytes,
                    size: 257_698_037_700_000,
                    max: Limits::DEFAULT_MAX_FILE_BYTES,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_mentions(
            &err.to_string(),
            &[
                &shown(&gz),
                "the declared pixel data (4294967295 x 60000 x 1) would take 257698037700000 bytes",
                "more than the limit of 268435456 bytes (Limits::max_file_bytes",
            ],
        );
        let err = error_of(read_images_with(&gz, &Limits::unlimited()))?;
        assert!(
            matches!(err, IdxError::Truncated { found: 1000, .. }),
            "{err:?}"
        );

        let labels = dir.path().join("labels");
        fs::write(&labels, labels_bytes(u32::MAX, &[1, 2, 3]))?;
        let err = error_of(read_labels(&labels))?;
        assert!(
            matches!(
                err,
                IdxError::Truncated {
                    expected: 4_294_967_295,
                    found: 3,
                    ..
                }
            ),
            "{err:?}"
        );
        Ok(())
    }

    #[test]
    fn images_of_zero_pixels_are_refused() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("images");
        fs::write(&path, images_bytes(5, 0, 28, &[]))?;
        let err = error_of(read_images(&path))?;
        assert!(
            matches!(
                err,
                IdxError::EmptyImages {
                    count: 5,
                    rows: 0,
                    cols: 28,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_mentions(
            &err.to_string(),
            &[&shown(&path), "at least one pixel", "5 images of 0x28"],
        );
        Ok(())
    }

    #[test]
    fn writers_refuse_bad_input_and_replace_whole_files() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("images");
        let err = error_of(write_images(&path, 2, 2, &[0; 5]))?;
        assert!(matches!(err, IdxError::InvalidWrite { .. }), "{err:?}");
        assert_mentions(
            &err.to_string(),
            &[
                &shown(&path),
                "5 pixels are not a whole number of 2x2 images",
            ],
        );
        let err = error_of(write_images(&path, 0, 2, &[0; 5]))?;
        assert!(matches!(err, IdxError::InvalidWrite { .. }), "{err:?}");
        let err = error_of(write_images(&path, usize::MAX, 2, &[]))?;
        assert!(matches!(err, IdxError::InvalidWrite { .. }), "{err:?}");
        assert!(!path.exists());

        let missing_dir = dir.path().join("no-such-dir").join("labels");
        let err = error_of(write_labels(&missing_dir, &[1]))?;
        assert!(matches!(err, IdxError::Write { .. }), "{err:?}");
        assert_mentions(&err.to_string(), &["cannot write", &shown(&missing_dir)]);

        write_labels(dir.path().join("labels"), &[1, 2, 3])?;
        write_labels(dir.path().join("labels"), &[4])?;
        assert_eq!(read_labels(dir.path().join("labels"))?, vec![4]);
        let names: Vec<OsString> = fs::read_dir(dir.path())?
            .map(|entry| entry.map(|e| e.file_name()))
            .collect::<Result<_, _>>()?;
        assert_eq!(
            names,
            vec![OsString::from("labels")],
            "no temporary files left"
        );
        Ok(())
    }
}
