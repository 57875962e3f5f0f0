//! The loaders' promises about the files they are given (issue 15, items 1, 4 and 6), kept
//! through the public API: a FIFO is refused instead of read forever, a gzipped IDX file
//! costs memory for what it holds and not for what its header declares, a declared size over
//! the limits is refused before anything is allocated for it, and a read or write error says
//! what the operating system said.
//!
//! Memory is measured by a global allocator that tracks the bytes live on each thread and
//! the highest point they reach; each test reads on its own thread, so other tests do not
//! disturb its count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::error::Error;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use flate2::write::GzEncoder;
use flate2::Compression;
use nn::data::{self, Dataset, IdxError, Limit, Limits, Mnist};
use nn::file_check::{FileKind, NotRegularFile};
use nn::weights::{self, WeightsError};
use nn::Network;
use nn_test_support::{assert_mentions, error_of};

type TestResult = Result<(), Box<dyn Error>>;

nn::network! {
    #[derive(Debug)]
    struct Digits: 784 -> 16 sigmoid -> 10 softmax;
}

// --- a counting allocator ------------------------------------------------------------------

struct Counting;

thread_local! {
    /// Bytes allocated and not yet freed by this thread (a block freed by another thread
    /// than the one that allocated it skews both; the loaders do not do that).
    static LIVE: Cell<isize> = const { Cell::new(0) };
    /// The most `LIVE` has been since the last [`reset_peak`].
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // Counted as the new block arriving before the old one leaves: the worst case.
            count(new_size as isize);
            count(-(layout.size() as isize));
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The most bytes live on this thread while `f` ran, beyond those live before it.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(before));
    let result = f();
    let peak = PEAK.with(Cell::get);
    (result, usize::try_from(peak - before).unwrap_or(0))
}

const MIB: usize = 1 << 20;

// --- crafted files ---------------------------------------------------------------------------

/// One gzip member holding `data`.
fn gzip(data: &[u8]) -> Result<Vec<u8>, Box<dyn Error>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data)?;
    Ok(encoder.finish()?)
}

/// A gzip file that inflates to `header` followed by `zeros` zero bytes, built from one
/// compressed member of 1 MiB of zeros repeated (gzip allows many members in a row), so that
/// a file of gigabytes takes a few kilobytes a gigabyte and no time to make.
fn gzip_of_zeros(header: &[u8], zeros: usize) -> Result<Vec<u8>, Box<dyn Error>> {
    let mut file = gzip(header)?;
    let member = gzip(&vec![0; MIB])?;
    for _ in 0..zeros / MIB {
        file.extend_from_slice(&member);
    }
    file.extend(gzip(&vec![0; zeros % MIB])?);
    Ok(file)
}

/// An IDX images header (magic 0x00000803, then count, rows and columns, big-endian).
fn images_header(count: u32, rows: u32, cols: u32) -> Vec<u8> {
    [0x803, count, rows, cols]
        .iter()
        .flat_map(|v: &u32| v.to_be_bytes())
        .collect()
}

/// An IDX labels header (magic 0x00000801, then the count, big-endian).
fn labels_header(count: u32) -> Vec<u8> {
    [0x801, count]
        .iter()
        .flat_map(|v: &u32| v.to_be_bytes())
        .collect()
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn a_small_gzip_declaring_a_huge_size_is_refused_before_allocating() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("train-images-idx3-ubyte.gz");
    // 100000 images of 1000x1000 = 1e11 bytes declared; 1 MiB of zeros present, in 1 KiB.
    fs::write(
        &path,
        gzip_of_zeros(&images_header(100_000, 1000, 1000), MIB)?,
    )?;
    assert!(fs::metadata(&path)?.len() < 16 << 10);

    let (result, peak) = peak_during(|| data::read_images(&path));
    let e = error_of(result)?;
    assert!(
        matches!(
            e,
            IdxError::LimitExceeded {
                limit: Limit::FileBytes,
                size: 100_000_000_000,
                max: Limits::DEFAULT_MAX_FILE_BYTES,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "{}: the declared pixel data (100000 x 1000 x 1000) would take 100000000000 bytes, \
             more than the limit of 268435456 bytes (Limits::max_file_bytes; pass larger \
             `Limits` to a `_with` reader to accept it)",
            shown(&path)
        )
    );
    // The gzip decoder's state and the header; nothing for the data.
    assert!(peak < MIB / 2, "{peak} bytes allocated");
    Ok(())
}

#[test]
fn a_truncated_gzip_costs_what_it_holds_not_what_it_declares() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("images.gz");
    // 1 GiB declared (1024 images of 1024x1024), 8 MiB present.
    fs::write(
        &path,
        gzip_of_zeros(&images_header(1024, 1024, 1024), 8 * MIB)?,
    )?;

    let (result, peak) = peak_during(|| data::read_images_with(&path, &Limits::unlimited()));
    let e = error_of(result)?;
    assert!(
        matches!(
            e,
            IdxError::Truncated {
                expected: 1_073_741_824,
                found: 8_388_608,
                ..
            }
        ),
        "{e:?}"
    );
    assert_mentions(
        &e.to_string(),
        &[
            &shown(&path),
            "the file is truncated: expected 1073741824 bytes of pixel data (1024 x 1024 x 1024), \
             found 8388608",
        ],
    );
    // The buffer grows by a quarter of what has arrived (at least 64 KiB), so it holds at most
    // 1.25 times the 8 MiB read; counted here as if each growth copied the old block into a
    // new one (the worst case; a large block is usually moved in place), 2.25 times, plus the
    // decoder. A reader that trusted the header would take 1 GiB.
    let bound = 8 * MIB * 9 / 4 + MIB;
    assert!(peak <= bound, "{peak} bytes allocated, more than {bound}");

    // With 1 MiB present, about 2 MiB at most: no reservation up front on the header's word.
    let small = dir.path().join("small.gz");
    fs::write(
        &small,
        gzip_of_zeros(&images_header(1024, 1024, 1024), MIB)?,
    )?;
    let (result, peak) = peak_during(|| data::read_images_with(&small, &Limits::unlimited()));
    assert!(matches!(
        error_of(result)?,
        IdxError::Truncated {
            found: 1_048_576,
            ..
        }
    ));
    let small_bound = MIB * 9 / 4 + MIB;
    assert!(
        peak <= small_bound,
        "{peak} bytes allocated, more than {small_bound}"
    );

    // The same data, complete, is read whole, still growing only as it arrives.
    let complete = dir.path().join("complete.gz");
    fs::write(
        &complete,
        gzip_of_zeros(&images_header(8, 1024, 1024), 8 * MIB)?,
    )?;
    let (images, peak) = peak_during(|| data::read_images_with(&complete, &Limits::unlimited()));
    let images = images?;
    assert_eq!((images.len(), images.rows, images.cols), (8, 1024, 1024));
    assert!(images.pixels.iter().all(|&p| p == 0));
    assert!(peak <= bound, "{peak} bytes allocated, more than {bound}");
    Ok(())
}

#[test]
fn a_truncated_plain_file_is_refused_before_allocating() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("labels");
    let mut bytes = labels_header(4_000_000_000);
    bytes.extend_from_slice(&[1; 1000]);
    fs::write(&path, bytes)?;
    let (result, peak) = peak_during(|| data::read_labels_with(&path, &Limits::unlimited()));
    let e = error_of(result)?;
    assert!(
        matches!(
            e,
            IdxError::Truncated {
                expected: 4_000_000_000,
                found: 1000,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(peak < 64 << 10, "{peak} bytes allocated");
    Ok(())
}

/// The audit's "consistent 0.5 MB pair": a gzipped images file that really inflates to what
/// its header declares, and its labels. The file limit stops it unread; raised, the data set
/// limit stops it, still before a pixel is read.
#[test]
fn a_consistent_pair_over_the_limits_is_refused_before_reading() -> TestResult {
    let dir = tempfile::tempdir()?;
    let images = dir.path().join("images.gz");
    let labels = dir.path().join("labels.gz");
    let count = 1_000_000u32;
    fs::write(
        &images,
        gzip_of_zeros(&images_header(count, 28, 28), 784 * 1_000_000)?,
    )?;
    fs::write(&labels, gzip_of_zeros(&labels_header(count), 1_000_000)?)?;
    let on_disk = fs::metadata(&images)?.len() + fs::metadata(&labels)?.len();
    assert!(on_disk < MIB as u64, "{on_disk} bytes");

    let (result, peak) = peak_during(|| Dataset::<784, 10>::from_idx(&images, &labels));
    let e = error_of(result)?;
    assert!(
        matches!(
            &e,
            IdxError::LimitExceeded { path, limit: Limit::FileBytes, size: 784_000_000, .. }
                if path == &images
        ),
        "{e:?}"
    );
    assert!(peak < MIB / 2, "{peak} bytes allocated");

    let limits = Limits::default().with_max_file_bytes(1 << 30);
    let (result, peak) =
        peak_during(|| Dataset::<784, 10>::from_idx_with(&images, &labels, &limits));
    let e = error_of(result)?;
    // Per item: 784 inputs and 10 targets as f32, and the label.
    let size = 1_000_000 * (4 * 784 + 4 * 10 + 1);
    assert!(
        matches!(
            &e,
            IdxError::LimitExceeded { limit: Limit::DatasetBytes, size: s, max, .. }
                if *s == size && *max == Limits::DEFAULT_MAX_DATASET_BYTES
        ),
        "{e:?}"
    );
    assert_mentions(
        &e.to_string(),
        &[
            &shown(&images),
            &format!("a Dataset<784, 10> of 1000000 items would take {size} bytes"),
            "more than the limit of 1073741824 bytes (Limits::max_dataset_bytes",
        ],
    );
    assert!(peak < MIB / 2, "{peak} bytes allocated");

    // Mnist::load_with applies the limits to each of its files.
    let folder = dir.path().join("mnist");
    fs::create_dir(&folder)?;
    fs::rename(&images, folder.join("train-images-idx3-ubyte.gz"))?;
    fs::rename(&labels, folder.join("train-labels-idx1-ubyte.gz"))?;
    let tiny = Limits::default().with_max_file_bytes(1000);
    let e = error_of(Mnist::load_with(&folder, &tiny))?;
    assert!(
        matches!(
            e,
            IdxError::LimitExceeded {
                limit: Limit::FileBytes,
                max: 1000,
                ..
            }
        ),
        "{e:?}"
    );
    Ok(())
}

// --- FIFOs and other files that are not regular --------------------------------------------

/// Runs `f` on a thread of its own and returns its result, or fails the test after a minute:
/// a loader that blocks on a FIFO fails instead of hanging the suite.
fn within_a_minute<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || send.send(f()));
    receive
        .recv_timeout(Duration::from_secs(60))
        .expect("the loader returned instead of blocking")
}

/// Makes a FIFO at `path` with `mkfifo`.
#[cfg(unix)]
fn mkfifo(path: &Path) -> TestResult {
    let status = std::process::Command::new("mkfifo").arg(path).status()?;
    assert!(status.success(), "mkfifo failed: {status}");
    Ok(())
}

/// Checks that `e`'s message and source say that `path` is a `kind`, not a regular file.
fn assert_not_regular(e: &(dyn Error + 'static), path: &Path, kind: FileKind) {
    let refused = NotRegularFile::find(e).expect("a NotRegularFile in the error");
    assert_eq!((refused.path(), refused.kind()), (path, kind));
    assert_mentions(
        &e.to_string(),
        &[
            &format!("cannot read {}", shown(path)),
            &kind.to_string(),
            "not a regular file",
        ],
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_by_every_loader_without_waiting() -> TestResult {
    let dir = tempfile::tempdir()?;
    let fifo = dir.path().join("pipe");
    mkfifo(&fifo)?;

    let path = fifo.clone();
    let e = error_of(within_a_minute(move || weights::load::<Digits>(path)))?;
    assert!(
        matches!(&e, WeightsError::Read { path, .. } if path == &fifo),
        "{e:?}"
    );
    assert_not_regular(&e, &fifo, FileKind::Fifo);

    let path = fifo.clone();
    let e = error_of(within_a_minute(move || data::read_images(path)))?;
    assert!(
        matches!(&e, IdxError::Io { path, .. } if path == &fifo),
        "{e:?}"
    );
    assert_not_regular(&e, &fifo, FileKind::Fifo);

    let path = fifo.clone();
    let e = error_of(within_a_minute(move || data::read_labels(path)))?;
    assert_not_regular(&e, &fifo, FileKind::Fifo);

    // A data set whose labels are a FIFO.
    let images = dir.path().join("images");
    data::write_images(&images, 28, 28, &[0; 784])?;
    let (i, l) = (images.clone(), fifo.clone());
    let e = error_of(within_a_minute(move || Dataset::<784, 10>::from_idx(i, l)))?;
    assert_not_regular(&e, &fifo, FileKind::Fifo);

    // An MNIST folder whose training images are a FIFO: refused, not "not found", and not
    // opened either (the lookup sees what the name is).
    let folder = dir.path().join("mnist");
    fs::create_dir(&folder)?;
    let gz = folder.join("train-images-idx3-ubyte.gz");
    mkfifo(&gz)?;
    let f = folder.clone();
    let e = error_of(within_a_minute(move || Mnist::load(f)))?;
    assert!(
        matches!(&e, IdxError::Io { path, .. } if path == &gz),
        "{e:?}"
    );
    assert_not_regular(&e, &gz, FileKind::Fifo);
    Ok(())
}

#[test]
fn a_folder_where_a_file_should_be_is_named_as_such() -> TestResult {
    let dir = tempfile::tempdir()?;
    let e = error_of(weights::load::<Digits>(dir.path()))?;
    assert_not_regular(&e, dir.path(), FileKind::Directory);

    // Mnist: a folder under the `.gz` name and nothing under the plain one is reported as a
    // folder; a regular file under the plain name is then used.
    let gz = dir.path().join("train-images-idx3-ubyte.gz");
    fs::create_dir(&gz)?;
    let e = error_of(Mnist::load(dir.path()))?;
    assert!(matches!(e, IdxError::Io { .. }), "{e:?}");
    assert_not_regular(&e, &gz, FileKind::Directory);

    data::write_images(
        dir.path().join("train-images-idx3-ubyte"),
        28,
        28,
        &[0; 784],
    )?;
    let e = error_of(Mnist::load(dir.path()))?;
    let labels: Vec<PathBuf> = ["train-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte"]
        .iter()
        .map(|n| dir.path().join(n))
        .collect();
    assert!(
        matches!(&e, IdxError::MissingFile { looked_for } if *looked_for == labels),
        "{e:?}"
    );
    Ok(())
}

// --- the operating system's reason in the message -------------------------------------------

#[test]
fn read_and_write_errors_say_what_the_operating_system_said() -> TestResult {
    let dir = tempfile::tempdir()?;
    let missing = dir.path().join("missing");
    // ENOENT, "No such file or directory", is 2 on every Unix and on Windows.
    let os_reason = std::io::Error::from_raw_os_error(2).to_string();

    let e = error_of(weights::load::<Digits>(&missing))?;
    assert!(matches!(e, WeightsError::Read { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("cannot read {}: {os_reason}", shown(&missing))
    );
    let e = error_of(data::read_labels(&missing))?;
    assert!(matches!(e, IdxError::Io { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("cannot read {}: {os_reason}", shown(&missing))
    );

    let nowhere = dir.path().join("no-such-folder").join("file");
    let e = error_of(weights::save(&Digits::new(1), &nowhere))?;
    assert!(matches!(e, WeightsError::Write { .. }), "{e:?}");
    let source = e.source().ok_or("no source")?.to_string();
    assert_eq!(
        e.to_string(),
        format!("cannot write {}: {source}", shown(&nowhere))
    );
    assert!(
        source.contains(&os_reason),
        "{source:?} does not say {os_reason:?}"
    );
    let e = error_of(data::write_labels(&nowhere, &[1]))?;
    assert!(matches!(e, IdxError::Write { .. }), "{e:?}");
    assert_mentions(
        &e.to_string(),
        &[&format!("cannot write {}: ", shown(&nowhere)), &os_reason],
    );

    // A gzip stream cut short: the decompressor's reason follows.
    let cut = dir.path().join("cut.gz");
    let whole = gzip(&labels_header(3))?;
    fs::write(&cut, &whole[..whole.len() - 6])?;
    let e = error_of(data::read_labels(&cut))?;
    assert!(matches!(e, IdxError::GzipCorrupt { .. }), "{e:?}");
    let source = e.source().ok_or("no source")?.to_string();
    assert!(!source.is_empty());
    assert!(
        e.to_string()
            .ends_with(&format!("corrupt or truncated: {source}")),
        "{e}"
    );
    Ok(())
}

#[test]
fn a_network_saved_in_half_precision_loads_from_a_file() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("digits.safetensors");
    let net = Digits::new(5);
    weights::save_as(&net, &path, weights::Dtype::BF16)?;
    let back: Digits = weights::load(&path)?;
    for (a, b) in back.parameters().flatten().zip(net.parameters().flatten()) {
        assert!((a - b).abs() <= b.abs() * 2f32.powi(-8), "{a} vs {b}");
    }
    Ok(())
}

/// A safetensors file whose header names a tensor twice is refused when loaded from a file,
/// where a JSON parser (and so the safetensors crate) would keep the second entry.
#[test]
fn a_weights_file_naming_a_tensor_twice_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("twice.safetensors");
    let good = weights::to_bytes(&Digits::new(1))?;
    let n = usize::try_from(u64::from_le_bytes(good[..8].try_into()?))?;
    let header = std::str::from_utf8(&good[8..8 + n])?.trim_end();
    // Append a second `2.bias` entry pointing at the same bytes as the first.
    let first = header.find(r#""2.bias":"#).ok_or("no 2.bias")?;
    let entry_end = first + header[first..].find('}').ok_or("no end")? + 1;
    let entry = &header[first..entry_end];
    let twice = format!("{},{entry}}}", &header[..header.len() - 1]);
    let mut bytes = (twice.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(twice.as_bytes());
    bytes.extend_from_slice(&good[8 + n..]);
    fs::write(&path, bytes)?;
    let e = error_of(weights::load::<Digits>(&path))?;
    assert!(matches!(e, WeightsError::Format { .. }), "{e:?}");
    assert_mentions(
        &e.to_string(),
        &[
            &format!("{} is not a valid safetensors file", shown(&path)),
            "its header names a key twice: `2.bias` appears twice in the header",
        ],
    );
    Ok(())
}
