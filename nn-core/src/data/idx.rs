//! The IDX file format, in which the MNIST handwritten-digit data set is
//! distributed.
//!
//! An IDX file is a short big-endian header followed by raw data. The two
//! kinds this module reads are:
//!
//! | kind   | magic        | header (big-endian `u32`s) | data                                   |
//! |--------|--------------|----------------------------|----------------------------------------|
//! | images | `0x00000803` | magic, count, rows, cols   | `count * rows * cols` pixels, 0..=255 |
//! | labels | `0x00000801` | magic, count               | `count` labels, one byte each          |
//!
//! Pixels are stored row-major, one image after another. A file may be
//! gzip-compressed (as MNIST is distributed); compression is recognised by
//! the gzip magic bytes `1f 8b` at the start of the file, not by its name.
//!
//! [`read_images`] and [`read_labels`] return the raw bytes;
//! [`Dataset::from_idx`] pairs an images file with a labels file and turns
//! them into `f32` inputs in `[0, 1]` with one-hot targets; [`Mnist::load`]
//! reads the four standard MNIST files from a folder. [`write_images`] and
//! [`write_labels`] make small uncompressed IDX files.
//!
//! # Errors
//!
//! Nothing here panics on the contents of a file: every problem is an
//! [`IdxError`] whose message names the file and says what was expected and
//! what was found. A declared size is checked against the data actually
//! present before any memory is allocated for it, so a corrupt header cannot
//! make the reader allocate gigabytes. The data must be exactly as long as
//! the header says: trailing bytes are an error, not ignored. Where the cause
//! is an operating-system or decompression error, it is available through
//! [`std::error::Error::source`] rather than repeated in the message.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

/// The magic number of an IDX images file: unsigned bytes in 3 dimensions.
pub const IMAGES_MAGIC: u32 = 0x0000_0803;

/// The magic number of an IDX labels file: unsigned bytes in 1 dimension.
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// The largest data section the reader accepts, in bytes: the most a `Vec`
/// can hold.
const MAX_DATA_LEN: u64 = isize::MAX as u64;

/// How much memory to reserve up front for gzip data, whose true length is
/// unknown until it has been decompressed; beyond this the buffer grows as
/// data actually arrives.
const GZIP_INITIAL_CAPACITY: usize = 16 << 20;

/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Everything that can go wrong reading or writing an IDX file.
///
/// Every variant names the file concerned. The messages start in lower case
/// and end without a period, so they can be embedded in other messages.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdxError {
    /// The file could not be opened or read.
    #[error("cannot read {}", .path.display())]
    Io {
        /// The file that could not be read.
        path: PathBuf,
        /// What the operating system reported.
        #[source]
        source: io::Error,
    },

    /// The file starts with the gzip magic bytes, but its compressed data is
    /// corrupt or cut short (including a checksum mismatch).
    #[error("cannot decompress {}: the gzip data is corrupt or truncated", .path.display())]
    GzipCorrupt {
        /// The gzip file.
        path: PathBuf,
        /// What the decompressor reported.
        #[source]
        source: io::Error,
    },

    /// The file does not start with the magic number of the kind of IDX
    /// file that was asked for.
    #[error("{}: {}", .path.display(), magic_message(*.expected, *.found))]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The magic number wanted: [`IMAGES_MAGIC`] or [`LABELS_MAGIC`].
        expected: u32,
        /// The first four bytes of the (decompressed) file, big-endian.
        found: u32,
    },

    /// The header, or the data it declares, is cut short.
    #[error(
        "{}: the file is truncated: expected {expected} bytes of {what}, found {found}",
        .path.display()
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Which part is short, e.g. `pixel data (60000 x 28 x 28)`.
        what: String,
        /// How many bytes that part should have.
        expected: u64,
        /// How many bytes it has.
        found: u64,
    },

    /// The file goes on after the items its header declares.
    #[error(
        "{}: trailing data after the declared {what}: expected exactly {expected} bytes, found {}",
        .path.display(),
        found_more(*.found)
    )]
    TrailingData {
        /// The file.
        path: PathBuf,
        /// What the header declares, e.g. `60000 images of 28x28`.
        what: String,
        /// The length the header implies, header included (decompressed,
        /// for a gzip file).
        expected: u64,
        /// The actual length, where known; `None` for a gzip file, which is
        /// only read as far as the first extra byte.
        found: Option<u64>,
    },

    /// The header declares more data than can be held in memory, or a size
    /// that overflows.
    #[error(
        "{}: the declared size of the {what} is too large: expected at most {limit} bytes",
        .path.display()
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The part declared, with its dimensions, e.g.
        /// `pixel data (4294967295 x 4294967295 x 4294967295)`.
        what: String,
        /// The largest size accepted, in bytes.
        limit: u64,
    },

    /// An images file declares images but of zero rows or columns.
    #[error(
        "{}: expected images of at least one pixel, found {count} images of {rows}x{cols} = 0",
        .path.display()
    )]
    EmptyImages {
        /// The images file.
        path: PathBuf,
        /// The number of images declared.
        count: usize,
        /// Rows per image.
        rows: usize,
        /// Columns per image.
        cols: usize,
    },

    /// The images do not have the number of pixels the caller expects.
    #[error(
        "{}: expected images of {expected} pixels{}, found {rows}x{cols} = {}",
        .path.display(),
        square_hint(*.expected),
        (*.rows as u128) * (*.cols as u128)
    )]
    DimensionMismatch {
        /// The images file.
        path: PathBuf,
        /// The number of pixels per image expected (a network's input width).
        expected: usize,
        /// Rows per image in the file.
        rows: usize,
        /// Columns per image in the file.
        cols: usize,
    },

    /// The images file and the labels file hold different numbers of items.
    #[error(
        "image/label count mismatch: {} has {images} images but {} has {labels} labels",
        .images_path.display(),
        .labels_path.display()
    )]
    CountMismatch {
        /// The images file.
        images_path: PathBuf,
        /// The number of images in it.
        images: usize,
        /// The labels file.
        labels_path: PathBuf,
        /// The number of labels in it.
        labels: usize,
    },

    /// A label is not less than the number of classes the caller expects.
    #[error(
        "{}: label {label} of item {index} is out of range: expected a label less than {classes} (the number of classes)",
        .path.display()
    )]
    LabelOutOfRange {
        /// The labels file.
        path: PathBuf,
        /// The position of the offending item, counting from 0.
        index: usize,
        /// Its label.
        label: u8,
        /// The number of classes expected.
        classes: usize,
    },

    /// None of the names a file was looked for under exists.
    #[error("file not found: looked for {}", path_list(.looked_for))]
    MissingFile {
        /// The paths tried, in order of preference.
        looked_for: Vec<PathBuf>,
    },

    /// The file could not be written.
    #[error("cannot write {}", .path.display())]
    Write {
        /// The file that was to be written.
        path: PathBuf,
        /// What the operating system reported.
        #[source]
        source: io::Error,
    },

    /// The data given to a writer cannot be stored as an IDX file.
    #[error("cannot write {}: {reason}", .path.display())]
    InvalidWrite {
        /// The file that was to be written.
        path: PathBuf,
        /// What is wrong with the data.
        reason: String,
    },
}

/// The message for a wrong magic number, with a hint when the file is an
/// IDX file of another kind.
fn magic_message(expected: u32, found: u32) -> String {
    let hint = match found.to_be_bytes() {
        _ if found == IMAGES_MAGIC || found == LABELS_MAGIC => {
            format!("; this looks like {}", kind_name(found))
        }
        [0, 0, type_code, dims] => match idx_type_name(type_code) {
            Some(element) => format!(
                "; this looks like an IDX file of {element} in {dims} dimension{}",
                if dims == 1 { "" } else { "s" }
            ),
            None => String::new(),
        },
        // Only possible inside a gzip stream: a file compressed twice.
        [0x1f, 0x8b, ..] => "; this looks like gzip data compressed twice".to_owned(),
        _ => String::new(),
    };
    format!(
        "expected magic {expected:#010x} ({}), found {found:#010x}{hint}",
        kind_name(expected)
    )
}

/// What a file with the given magic number is, for messages.
fn kind_name(magic: u32) -> &'static str {
    match magic {
        IMAGES_MAGIC => "an IDX images file",
        LABELS_MAGIC => "an IDX labels file",
        _ => "an IDX file",
    }
}

/// The element type named by the third byte of an IDX magic number.
fn idx_type_name(code: u8) -> Option<&'static str> {
    Some(match code {
        0x08 => "unsigned bytes",
        0x09 => "signed bytes",
        0x0b => "16-bit integers",
        0x0c => "32-bit integers",
        0x0d => "32-bit floats",
        0x0e => "64-bit floats",
        _ => return None,
    })
}

/// ` (28x28 for MNIST)` and the like, for a pixel count that is a square.
fn square_hint(pixels: usize) -> String {
    let side = pixels.isqrt();
    if pixels == 0 || side * side != pixels {
        return String::new();
    }
    let mnist = if pixels == 784 { " for MNIST" } else { "" };
    format!(" ({side}x{side}{mnist})")
}

/// `1234`, or `more` when the length is unknown.
fn found_more(found: Option<u64>) -> String {
    found.map_or_else(|| "more".to_owned(), |n| n.to_string())
}

/// `a`, `a and b`, `a, b and c`.
fn path_list(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    match names.split_last() {
        None => "nothing".to_owned(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

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
    fn open(path: &'a Path) -> Result<Self, IdxError> {
        let io_error = |source| IdxError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(io_error)?;
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
fn read_idx<const D: usize>(path: &Path, kind: Kind) -> Result<([u32; D], Vec<u8>), IdxError> {
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

    // The length of gzip data is unknown until it has been decompressed, so
    // reserve at most a modest amount and let the buffer grow with the data
    // actually present.
    let capacity = if source.gzip {
        data_capacity.min(GZIP_INITIAL_CAPACITY)
    } else {
        data_capacity
    };
    let mut data = Vec::with_capacity(capacity);
    (&mut source.reader)
        .take(data_len)
        .read_to_end(&mut data)
        .map_err(|e| source.error(e))?;
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

/// Reads an IDX images file (magic `0x00000803`), plain or gzipped.
///
/// # Errors
///
/// [`IdxError::Io`] or [`IdxError::GzipCorrupt`] if the file cannot be read
/// or decompressed; [`IdxError::BadMagic`] if it is not an images file;
/// [`IdxError::Truncated`], [`IdxError::TrailingData`] or
/// [`IdxError::TooLarge`] if its length does not match its header;
/// [`IdxError::EmptyImages`] if it declares images of zero rows or columns.
pub fn read_images(path: impl AsRef<Path>) -> Result<IdxImages, IdxError> {
    let path = path.as_ref();
    let (dims, data) = read_idx::<3>(path, Kind::Images)?;
    // The data fitted in memory, so each dimension fits in a usize.
    let [count, rows, cols] = dims.map(|d| usize::try_from(d).unwrap_or(usize::MAX));
    if count > 0 && (rows == 0 || cols == 0) {
        return Err(IdxError::EmptyImages {
            path: path.to_path_buf(),
            count,
            rows,
            cols,
        });
    }
    Ok(IdxImages {
        rows,
        cols,
        pixels: data,
    })
}

/// Reads an IDX labels file (magic `0x00000801`), plain or gzipped: one
/// byte per item.
///
/// # Errors
///
/// [`IdxError::Io`] or [`IdxError::GzipCorrupt`] if the file cannot be read
/// or decompressed; [`IdxError::BadMagic`] if it is not a labels file;
/// [`IdxError::Truncated`], [`IdxError::TrailingData`] or
/// [`IdxError::TooLarge`] if its length does not match its header.
pub fn read_labels(path: impl AsRef<Path>) -> Result<Vec<u8>, IdxError> {
    read_idx::<1>(path.as_ref(), Kind::Labels).map(|(_, data)| data)
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

/// A labelled data set ready for a network: inputs scaled to `[0, 1]` as
/// `f32`, one-hot targets.
///
/// `IN` is the number of pixels per image (the network's input width) and
/// `CLASSES` the number of classes (its output width).
#[derive(Clone, PartialEq, Default)]
pub struct Dataset<const IN: usize, const CLASSES: usize> {
    /// One input per item: its pixels divided by 255, row-major.
    pub inputs: Vec<[f32; IN]>,
    /// One target per item: 1 at the index of its label, 0 elsewhere.
    pub targets: Vec<[f32; CLASSES]>,
    /// One label per item, each less than `CLASSES`.
    pub labels: Vec<u8>,
}

impl<const IN: usize, const CLASSES: usize> Dataset<IN, CLASSES> {
    /// Reads an images file and a labels file (IDX, plain or gzipped),
    /// checks that there is one label per image, that each image has `IN`
    /// pixels, and that every label is `< CLASSES`.
    ///
    /// # Errors
    ///
    /// Any error of [`read_images`] or [`read_labels`];
    /// [`IdxError::DimensionMismatch`] if the images do not have `IN`
    /// pixels; [`IdxError::CountMismatch`] if the files hold different
    /// numbers of items; [`IdxError::LabelOutOfRange`] for a label
    /// `>= CLASSES`.
    pub fn from_idx(images: impl AsRef<Path>, labels: impl AsRef<Path>) -> Result<Self, IdxError> {
        let (images_path, labels_path) = (images.as_ref(), labels.as_ref());

        let images = read_images(images_path)?;
        if images.rows.checked_mul(images.cols) != Some(IN) {
            return Err(IdxError::DimensionMismatch {
                path: images_path.to_path_buf(),
                expected: IN,
                rows: images.rows,
                cols: images.cols,
            });
        }

        let labels = read_labels(labels_path)?;
        // Images of zero pixels were refused unless there are none at all.
        let count = images.len();
        if count != labels.len() {
            return Err(IdxError::CountMismatch {
                images_path: images_path.to_path_buf(),
                images: count,
                labels_path: labels_path.to_path_buf(),
                labels: labels.len(),
            });
        }
        if let Some((index, &label)) = labels
            .iter()
            .enumerate()
            .find(|(_, &label)| usize::from(label) >= CLASSES)
        {
            return Err(IdxError::LabelOutOfRange {
                path: labels_path.to_path_buf(),
                index,
                label,
                classes: CLASSES,
            });
        }

        let inputs = images
            .pixels
            .chunks_exact(IN.max(1))
            .map(|image| {
                let mut input = [0.0f32; IN];
                for (x, &pixel) in input.iter_mut().zip(image) {
                    *x = f32::from(pixel) / 255.0;
                }
                input
            })
            .collect();
        let targets = labels
            .iter()
            .map(|&label| {
                let mut target = [0.0f32; CLASSES];
                if let Some(t) = target.get_mut(usize::from(label)) {
                    *t = 1.0;
                }
                target
            })
            .collect();
        Ok(Dataset {
            inputs,
            targets,
            labels,
        })
    }

    /// The number of items.
    #[must_use]
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no items.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

impl<const IN: usize, const CLASSES: usize> fmt::Debug for Dataset<IN, CLASSES> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dataset")
            .field("len", &self.len())
            .field("inputs", &IN)
            .field("classes", &CLASSES)
            .finish_non_exhaustive()
    }
}

/// The four standard MNIST files in a folder.
#[derive(Clone, Debug, PartialEq)]
pub struct Mnist {
    /// The training set (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`).
    pub train: Dataset<784, 10>,
    /// The test set (`t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`).
    pub test: Dataset<784, 10>,
}

impl Mnist {
    /// Reads `train-images-idx3-ubyte(.gz)`, `train-labels-idx1-ubyte(.gz)`,
    /// `t10k-images-idx3-ubyte(.gz)` and `t10k-labels-idx1-ubyte(.gz)` from
    /// `dir`, preferring the `.gz` name and falling back to the plain name.
    ///
    /// The number of items is not checked against the full data set's 60000
    /// and 10000, so a subset works too.
    ///
    /// # Errors
    ///
    /// [`IdxError::MissingFile`], naming the paths looked for, if neither
    /// name of a file exists; otherwise any error of [`Dataset::from_idx`].
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, IdxError> {
        let dir = dir.as_ref();
        let train = Dataset::from_idx(
            find_file(dir, "train-images-idx3-ubyte")?,
            find_file(dir, "train-labels-idx1-ubyte")?,
        )?;
        let test = Dataset::from_idx(
            find_file(dir, "t10k-images-idx3-ubyte")?,
            find_file(dir, "t10k-labels-idx1-ubyte")?,
        )?;
        Ok(Mnist { train, test })
    }
}

/// `dir/name.gz` if it is a file, else `dir/name` if it is a file.
fn find_file(dir: &Path, name: &str) -> Result<PathBuf, IdxError> {
    let looked_for = vec![dir.join(format!("{name}.gz")), dir.join(name)];
    for candidate in &looked_for {
        match fs::metadata(candidate) {
            Ok(meta) if meta.is_file() => return Ok(candidate.clone()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(IdxError::Io {
                    path: candidate.clone(),
                    source,
                })
            }
        }
    }
    Err(IdxError::MissingFile { looked_for })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TempDir;
    use std::ffi::OsString;
    use std::io::Write;

    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::error::Error;

    type TestResult = Result<(), Box<dyn Error>>;

    fn gzip(data: &[u8]) -> Result<Vec<u8>, Box<dyn Error>> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data)?;
        Ok(encoder.finish()?)
    }

    /// The bytes of an images file with the given header and pixels.
    fn images_bytes(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for v in [IMAGES_MAGIC, count, rows, cols] {
            bytes.extend_from_slice(&v.to_be_bytes());
        }
        bytes.extend_from_slice(pixels);
        bytes
    }

    /// The bytes of a labels file with the given header and labels.
    fn labels_bytes(count: u32, labels: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for v in [LABELS_MAGIC, count] {
            bytes.extend_from_slice(&v.to_be_bytes());
        }
        bytes.extend_from_slice(labels);
        bytes
    }

    /// The error of `result`, or a test failure if it succeeded.
    fn error_of<T: fmt::Debug>(result: Result<T, IdxError>) -> Result<IdxError, Box<dyn Error>> {
        match result {
            Ok(value) => Err(format!("expected an error, got {value:?}").into()),
            Err(e) => Ok(e),
        }
    }

    /// Checks that `message` contains every one of `parts`.
    fn assert_mentions(message: &str, parts: &[&str]) {
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

    fn shown(path: &Path) -> String {
        path.display().to_string()
    }

    #[test]
    fn round_trip_plain() -> TestResult {
        let dir = TempDir::new("idx")?;
        let (images_path, labels_path) = (dir.path("images"), dir.path("labels"));
        let pixels: Vec<u8> = (0..18).map(|i| i * 15).collect();
        write_images(&images_path, 2, 3, &pixels)?;
        write_labels(&labels_path, &[2, 0, 3])?;
        assert_eq!(fs::read(&images_path)?, images_bytes(3, 2, 3, &pixels));

        let images = read_images(&images_path)?;
        assert_eq!((images.rows, images.cols), (2, 3));
        assert_eq!(images.pixels, pixels);
        assert_eq!(images.len(), 3);
        assert!(!images.is_empty());
        assert_eq!(images.pixels_per_image(), 6);
        assert_eq!(images.image(1), Some(&pixels[6..12]));
        assert_eq!(images.image(3), None);
        assert_eq!(images.image(usize::MAX), None);
        assert_eq!(read_labels(&labels_path)?, vec![2, 0, 3]);

        let data = Dataset::<6, 4>::from_idx(&images_path, &labels_path)?;
        assert_eq!(data.len(), 3);
        assert!(!data.is_empty());
        assert_eq!(data.labels, vec![2, 0, 3]);
        assert_eq!(data.inputs[0][0], 0.0);
        assert_eq!(data.inputs[2][5], 1.0);
        assert!((data.inputs[1][0] - 90.0 / 255.0).abs() < 1e-7);
        assert_eq!(data.targets[0], [0.0, 0.0, 1.0, 0.0]);
        assert_eq!(data.targets[1], [1.0, 0.0, 0.0, 0.0]);
        assert_eq!(data.targets[2], [0.0, 0.0, 0.0, 1.0]);
        assert_eq!(
            format!("{data:?}"),
            "Dataset { len: 3, inputs: 6, classes: 4, .. }"
        );
        Ok(())
    }

    #[test]
    fn round_trip_empty() -> TestResult {
        let dir = TempDir::new("idx")?;
        write_images(dir.path("images"), 28, 28, &[])?;
        write_labels(dir.path("labels"), &[])?;
        let images = read_images(dir.path("images"))?;
        assert!(images.is_empty());
        assert_eq!((images.rows, images.cols), (28, 28));
        let data = Dataset::<784, 10>::from_idx(dir.path("images"), dir.path("labels"))?;
        assert!(data.is_empty());
        Ok(())
    }

    #[test]
    fn round_trip_gzipped_detected_by_content() -> TestResult {
        let dir = TempDir::new("idx")?;
        let pixels: Vec<u8> = (0..=255).collect();
        // Gzip data under a plain name, and plain data under a .gz name.
        let (gz_images, gz_labels) = (dir.path("images.idx"), dir.path("labels.idx"));
        fs::write(&gz_images, gzip(&images_bytes(4, 8, 8, &pixels))?)?;
        fs::write(&gz_labels, gzip(&labels_bytes(4, &[9, 8, 7, 6]))?)?;
        let plain_images = dir.path("plain-images.gz");
        write_images(&plain_images, 8, 8, &pixels)?;

        let images = read_images(&gz_images)?;
        assert_eq!((images.rows, images.cols, images.len()), (8, 8, 4));
        assert_eq!(images.pixels, pixels);
        assert_eq!(read_images(&plain_images)?, images);
        assert_eq!(read_labels(&gz_labels)?, vec![9, 8, 7, 6]);

        let data = Dataset::<64, 10>::from_idx(&gz_images, &gz_labels)?;
        assert_eq!(data.labels, vec![9, 8, 7, 6]);
        assert_eq!(data.inputs[3][63], 1.0);
        assert_eq!(data.targets[0][9], 1.0);
        Ok(())
    }

    #[test]
    fn gzip_with_several_members_is_read_whole() -> TestResult {
        let dir = TempDir::new("idx")?;
        let bytes = labels_bytes(6, &[1, 2, 3, 4, 5, 6]);
        let mut two_members = gzip(&bytes[..10])?;
        two_members.extend(gzip(&bytes[10..])?);
        fs::write(dir.path("labels.gz"), two_members)?;
        assert_eq!(read_labels(dir.path("labels.gz"))?, vec![1, 2, 3, 4, 5, 6]);
        Ok(())
    }

    #[test]
    fn missing_file_is_an_io_error_naming_the_path() -> TestResult {
        let dir = TempDir::new("idx")?;
        let path = dir.path("no-such-file");
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
        let dir = TempDir::new("idx")?;
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
            let path = dir.path(name);
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
        let dir = TempDir::new("idx")?;
        let (images, labels, other) = (dir.path("images"), dir.path("labels"), dir.path("other"));
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
        let floats = dir.path("floats.gz");
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

        let twice = dir.path("twice.gz");
        fs::write(&twice, gzip(&gzip(&labels_bytes(1, &[1]))?)?)?;
        let err = error_of(read_labels(&twice))?;
        assert!(matches!(err, IdxError::BadMagic { .. }), "{err:?}");
        assert_mentions(&err.to_string(), &["found 0x1f8b", "compressed twice"]);
        Ok(())
    }

    #[test]
    fn truncated_header_is_reported() -> TestResult {
        let dir = TempDir::new("idx")?;
        let path = dir.path("short");
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
        let dir = TempDir::new("idx")?;
        let bytes = images_bytes(10, 2, 2, &[5; 7]);
        let (plain, gz) = (dir.path("plain"), dir.path("gz"));
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

        let labels = dir.path("labels");
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
        let dir = TempDir::new("idx")?;
        let bytes = images_bytes(4, 2, 2, &[9; 17]);
        let (plain, gz) = (dir.path("plain"), dir.path("gz"));
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

        let labels = dir.path("labels");
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
        let dir = TempDir::new("idx")?;

        // count * rows * cols overflows 64 bits.
        let overflow = dir.path("overflow");
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
        let beyond = dir.path("beyond.gz");
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
        let plain = dir.path("plain");
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
        let gz = dir.path("gz");
        fs::write(&gz, gzip(&bytes)?)?;
        let err = error_of(read_images(&gz))?;
        assert!(
            matches!(err, IdxError::Truncated { found: 1000, .. }),
            "{err:?}"
        );

        let labels = dir.path("labels");
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
        let dir = TempDir::new("idx")?;
        let path = dir.path("images");
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
    fn count_mismatch_names_both_files() -> TestResult {
        let dir = TempDir::new("idx")?;
        let (images, labels) = (dir.path("images"), dir.path("labels"));
        write_images(&images, 1, 2, &[0, 1, 2, 3, 4, 5])?;
        write_labels(&labels, &[0, 1])?;
        let err = error_of(Dataset::<2, 2>::from_idx(&images, &labels))?;
        assert!(
            matches!(
                err,
                IdxError::CountMismatch {
                    images: 3,
                    labels: 2,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_mentions(
            &err.to_string(),
            &[&shown(&images), "3 images", &shown(&labels), "2 labels"],
        );
        Ok(())
    }

    #[test]
    fn label_out_of_range_names_item_label_and_classes() -> TestResult {
        let dir = TempDir::new("idx")?;
        let (images, labels) = (dir.path("images"), dir.path("labels"));
        write_images(&images, 1, 1, &[0, 1, 2, 3])?;
        write_labels(&labels, &[0, 1, 7, 2])?;
        let err = error_of(Dataset::<1, 5>::from_idx(&images, &labels))?;
        assert!(
            matches!(
                err,
                IdxError::LabelOutOfRange {
                    index: 2,
                    label: 7,
                    classes: 5,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_mentions(
            &err.to_string(),
            &[&shown(&labels), "label 7 of item 2", "less than 5"],
        );
        // The boundary: a label equal to the number of classes.
        write_labels(&labels, &[5, 0, 0, 0])?;
        let err = error_of(Dataset::<1, 5>::from_idx(&images, &labels))?;
        assert!(
            matches!(
                err,
                IdxError::LabelOutOfRange {
                    index: 0,
                    label: 5,
                    ..
                }
            ),
            "{err:?}"
        );
        Ok(())
    }

    #[test]
    fn dimension_mismatch_says_what_was_expected() -> TestResult {
        let dir = TempDir::new("idx")?;
        let (images, labels) = (dir.path("images"), dir.path("labels"));
        write_images(&images, 8, 8, &[0; 128])?;
        write_labels(&labels, &[0, 1])?;
        let err = error_of(Dataset::<784, 10>::from_idx(&images, &labels))?;
        assert!(
            matches!(
                err,
                IdxError::DimensionMismatch {
                    expected: 784,
                    rows: 8,
                    cols: 8,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_mentions(
            &err.to_string(),
            &[
                &shown(&images),
                "expected images of 784 pixels (28x28 for MNIST), found 8x8 = 64",
            ],
        );
        // Same pixel count, different shape: accepted.
        assert_eq!(Dataset::<64, 2>::from_idx(&images, &labels)?.len(), 2);
        write_images(&images, 4, 16, &[0; 128])?;
        assert_eq!(Dataset::<64, 2>::from_idx(&images, &labels)?.len(), 2);
        let err = error_of(Dataset::<10, 2>::from_idx(&images, &labels))?;
        assert_mentions(
            &err.to_string(),
            &["expected images of 10 pixels, found 4x16 = 64"],
        );
        Ok(())
    }

    #[test]
    fn writers_refuse_bad_input_and_replace_whole_files() -> TestResult {
        let dir = TempDir::new("idx")?;
        let path = dir.path("images");
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

        let missing_dir = dir.path("no-such-dir").join("labels");
        let err = error_of(write_labels(&missing_dir, &[1]))?;
        assert!(matches!(err, IdxError::Write { .. }), "{err:?}");
        assert_mentions(&err.to_string(), &["cannot write", &shown(&missing_dir)]);

        write_labels(dir.path("labels"), &[1, 2, 3])?;
        write_labels(dir.path("labels"), &[4])?;
        assert_eq!(read_labels(dir.path("labels"))?, vec![4]);
        let names: Vec<OsString> = fs::read_dir(&dir.0)?
            .map(|entry| entry.map(|e| e.file_name()))
            .collect::<Result<_, _>>()?;
        assert_eq!(
            names,
            vec![OsString::from("labels")],
            "no temporary files left"
        );
        Ok(())
    }

    #[test]
    fn mnist_load_prefers_gzip_and_names_missing_files() -> TestResult {
        let dir = TempDir::new("idx")?;
        let err = error_of(Mnist::load(&dir.0))?;
        let gz = dir.path("train-images-idx3-ubyte.gz");
        let plain = dir.path("train-images-idx3-ubyte");
        assert!(
            matches!(&err, IdxError::MissingFile { looked_for } if *looked_for == [gz.clone(), plain.clone()]),
            "{err:?}"
        );
        assert_mentions(
            &err.to_string(),
            &["not found", &shown(&gz), &shown(&plain)],
        );

        // Plain train images that would not load, and gzipped ones that do.
        fs::write(&plain, b"not an idx file")?;
        fs::write(&gz, gzip(&images_bytes(2, 28, 28, &[255; 2 * 784]))?)?;
        write_labels(dir.path("train-labels-idx1-ubyte"), &[3, 9])?;
        write_images(dir.path("t10k-images-idx3-ubyte"), 28, 28, &[0; 784])?;
        let err = error_of(Mnist::load(&dir.0))?;
        let test_labels = dir.path("t10k-labels-idx1-ubyte");
        assert!(matches!(err, IdxError::MissingFile { .. }), "{err:?}");
        assert_mentions(&err.to_string(), &[&shown(&test_labels)]);

        fs::write(
            dir.path("t10k-labels-idx1-ubyte.gz"),
            gzip(&labels_bytes(1, &[4]))?,
        )?;
        let mnist = Mnist::load(&dir.0)?;
        assert_eq!((mnist.train.len(), mnist.test.len()), (2, 1));
        assert_eq!(mnist.train.labels, vec![3, 9]);
        assert_eq!(mnist.train.inputs[1][783], 1.0);
        assert_eq!(mnist.test.targets[0][4], 1.0);
        Ok(())
    }

    #[test]
    fn reads_the_vendored_mnist_subset() -> TestResult {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/mnist"));
        let train_images = read_images(find_file(dir, "train-images-idx3-ubyte")?)?;
        assert_eq!(
            (train_images.len(), train_images.rows, train_images.cols),
            (8000, 28, 28)
        );

        let mnist = Mnist::load(dir)?;
        assert_eq!(mnist.train.len(), 8000);
        assert_eq!(mnist.test.len(), 1000);
        assert_eq!(mnist.train.inputs.len(), 8000);
        assert_eq!(mnist.test.targets.len(), 1000);
        for (name, set) in [("train", &mnist.train), ("test", &mnist.test)] {
            let mut seen = [0usize; 10];
            for (&label, target) in set.labels.iter().zip(&set.targets) {
                assert!(label < 10);
                seen[usize::from(label)] += 1;
                assert_eq!(target.iter().sum::<f32>(), 1.0);
                assert_eq!(target[usize::from(label)], 1.0);
            }
            assert!(
                seen.iter().all(|&n| n > 0),
                "{name}: every class appears: {seen:?}"
            );
            assert!(set
                .inputs
                .iter()
                .all(|x| x.iter().all(|v| (0.0..=1.0).contains(v))));
            // Real digits: ink somewhere, background at the corners.
            assert!(set
                .inputs
                .iter()
                .all(|x| x.iter().any(|&v| v > 0.5) && x[0] == 0.0));
        }
        Ok(())
    }
}
