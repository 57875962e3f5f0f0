//! Writing a file so that an existing one is never half-written, and a killed write leaves
//! nothing behind for long.
//!
//! # The guarantee
//!
//! [`write_atomically`] writes the new contents to a temporary file in the target's folder,
//! flushes that file to the disk (`fsync`), renames it over the target, and then flushes the
//! folder (on Unix), so that:
//!
//! - at every moment, also when the process is killed (or, as far as the file system honours
//!   `fsync`, when the machine loses power), the target holds either its old contents or the
//!   complete new ones, never a mix or a truncated file;
//! - once it returns `Ok`, the new contents are on the disk under the target's name;
//! - when it returns an error, the temporary file is removed and the target is as it was, with
//!   one exception: if only the last step, flushing the folder, fails, the target already holds
//!   the new contents, which may not survive a power loss;
//! - a temporary file left by a save that was killed is removed by the next save to the same
//!   target (see [stale temporaries](#stale-temporaries)), so the folder does not fill up with
//!   them.
//!
//! # Temporary names
//!
//! The temporary file of a target `NAME` is `.NAME.PID-N.tmp`: hidden, in the same folder (so
//! the rename stays on one file system), with the writing process's id `PID` and a counter `N`
//! that tells apart the saves of one process. Such a name is at most 36 bytes longer than
//! `NAME`, which could exceed the 255 bytes most file systems allow in a name
//! (`NAME_MAX`) for a legal target name. So for a `NAME` of more than
//! [`FULL_NAME_MAX`] bytes the temporary name holds instead the first 198 to 201 bytes of
//! `NAME` (cut at a character, invalid UTF-8 replaced by `U+FFFD`), a `~` and the 16 hex digits
//! of a 64-bit FNV-1a hash of the whole name: at most 218 bytes, the whole temporary name at
//! most 255. The two forms cannot be confused: a shortened `NAME` is always longer than
//! [`FULL_NAME_MAX`] bytes, a kept one never is.
//!
//! # Stale temporaries
//!
//! Before it writes, a save lists the target's folder and removes each entry that
//!
//! - is named exactly `.NAME.PID-N.tmp` for this target's `NAME` (in the form above, `PID` and
//!   `N` decimal numbers, nothing before or after),
//! - is a regular file (not a symbolic link, a folder or anything else), and
//! - is stale: its process is this one and `N` is not a save in progress, or its process is
//!   not running (checked on Linux through `/proc`: no `/proc/PID`, or a zombie; where that
//!   cannot be told, this rule does not apply), or it was last modified more than
//!   [`STALE_AGE`] ago (a save writes its temporary file without pause and renames it at once,
//!   so such a file is left over; this also covers a process id since reused by another
//!   process).
//!
//! Nothing else is touched: not another target's temporaries, not a file of any other shape.
//! Removing is best effort: an entry that cannot be read or removed is left, and the save goes
//! on. In a folder shared with other machines or other PID namespaces, a save in progress
//! there may look dead from here; its temporary file may then be removed, and that save fails
//! with an error, leaving its target as it was. The target itself is never at risk.

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// The longest target name, in bytes, kept whole in its temporary name: with the leading `.`
/// and the longest `.PID-N.tmp` (10 + 20 digits), the temporary name is then at most 251
/// bytes, within the 255 of `NAME_MAX`. Longer names are shortened and hashed (see the
/// [module docs](self)).
pub(crate) const FULL_NAME_MAX: usize = 214;

/// How long since its last change a temporary file of another process must be left alone
/// before it is taken to be a leftover, even if that process seems to be running: one hour.
pub(crate) const STALE_AGE: Duration = Duration::from_secs(60 * 60);

/// The length, in bytes, of the part of a long target name kept in its temporary name: with
/// `~` and 16 hex digits, the stem is at most 218 bytes.
const SHORT_PREFIX_MAX: usize = 201;

/// How often a save tries another counter when its temporary name is taken.
const CREATE_ATTEMPTS: usize = 16;

/// The counter `N` of the next temporary file of this process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The counters of this process's saves in progress: a temporary file of this process with
/// any other counter is a leftover (of an earlier process with the same id).
static IN_USE: Mutex<BTreeSet<u64>> = Mutex::new(BTreeSet::new());

/// Writes `parts`, one after the other, to a fresh temporary file next to `path`, syncs it,
/// renames it over `path` and syncs the folder, after removing stale temporaries of `path`
/// (see the [module docs](self) for the names and the guarantee).
///
/// # Errors
///
/// `InvalidInput` if `path` does not end in a file name, else the I/O error that stopped it.
pub(crate) fn write_atomically(path: &Path, parts: &[&[u8]]) -> io::Result<()> {
    let Some(name) = path.file_name() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path does not end in a file name",
        ));
    };
    let stem = temp_stem(name);
    remove_stale(&folder(path), &stem);

    let pid = std::process::id();
    let mut attempt = 0;
    let (reservation, temp, file) = loop {
        let reservation = Reservation::new();
        let temp = path.with_file_name(temp_name(&stem, pid, reservation.counter));
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => break (reservation, temp, file),
            // A leftover of another machine or namespace with the same process id: try the
            // next counter.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt + 1 < CREATE_ATTEMPTS => {
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    };
    let written = write_and_sync(file, parts).and_then(|()| fs::rename(&temp, path));
    if written.is_err() {
        // Best effort: the error that stopped the save is the one to report.
        let _ = fs::remove_file(&temp);
    }
    drop(reservation);
    written?;
    sync_folder(&folder(path))
}

/// Writes `parts` to `file`, flushes it to the disk and closes it (a file is closed before it
/// is renamed: Windows cannot rename an open file).
fn write_and_sync(mut file: File, parts: &[&[u8]]) -> io::Result<()> {
    for part in parts {
        file.write_all(part)?;
    }
    file.sync_all()
}

/// The folder that holds `path`: its parent, or `.` for a bare file name.
fn folder(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Flushes the folder's entries (the rename) to the disk. On Unix only: elsewhere a folder
/// cannot be opened as a file. A file system that cannot sync a folder (`EINVAL`) is not an
/// error.
#[cfg(unix)]
fn sync_folder(dir: &Path) -> io::Result<()> {
    match File::open(dir).and_then(|d| d.sync_all()) {
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => Ok(()),
        other => other,
    }
}

/// Flushes the folder's entries to the disk: nothing to do where a folder cannot be opened.
#[cfg(not(unix))]
fn sync_folder(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// A counter taken for one save, marked in progress until dropped.
struct Reservation {
    /// The counter `N` of the save's temporary name.
    counter: u64,
}

impl Reservation {
    /// Takes the next counter and marks it in progress.
    fn new() -> Self {
        let mut in_use = IN_USE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
        in_use.insert(counter);
        Reservation { counter }
    }

    /// Whether a save of this process with counter `n` is in progress.
    fn in_progress(n: u64) -> bool {
        IN_USE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .contains(&n)
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        IN_USE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&self.counter);
    }
}

/// The part of a temporary name that stands for the target `name`: the name itself up to
/// [`FULL_NAME_MAX`] bytes, else a prefix of it, `~` and its hash.
fn temp_stem(name: &OsStr) -> OsString {
    let bytes = name.as_encoded_bytes();
    if bytes.len() <= FULL_NAME_MAX {
        return name.to_os_string();
    }
    let lossy = name.to_string_lossy();
    let mut end = SHORT_PREFIX_MAX.min(lossy.len());
    while !lossy.is_char_boundary(end) {
        end -= 1;
    }
    OsString::from(format!("{}~{:016x}", &lossy[..end], fnv1a(bytes)))
}

/// The temporary name `.STEM.PID-N.tmp`.
fn temp_name(stem: &OsStr, pid: u32, counter: u64) -> OsString {
    let mut name = OsString::from(".");
    name.push(stem);
    name.push(format!(".{pid}-{counter}.tmp"));
    name
}

/// The 64-bit FNV-1a hash of `bytes`: a fixed function, so that every process (and every
/// version of this crate) names the temporaries of a long target alike.
fn fnv1a(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;
    bytes.iter().fold(OFFSET_BASIS, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(PRIME)
    })
}

/// The process id and counter of `entry` if it is exactly the name of a temporary file of
/// the target whose stem is `stem`, `.STEM.PID-N.tmp`; `None` for any other name.
fn parse_temp_name(entry: &OsStr, stem: &OsStr) -> Option<(u32, u64)> {
    let rest = entry.as_encoded_bytes().strip_prefix(b".")?;
    let rest = rest.strip_prefix(stem.as_encoded_bytes())?;
    let rest = rest.strip_prefix(b".")?.strip_suffix(b".tmp")?;
    let dash = rest.iter().position(|&b| b == b'-')?;
    let (pid, counter) = (&rest[..dash], &rest[dash + 1..]);
    Some((decimal(pid)?, decimal(counter)?))
}

/// The value of a non-empty run of ASCII digits, `None` for anything else or an overflow.
fn decimal<T: std::str::FromStr>(digits: &[u8]) -> Option<T> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Removes the stale temporaries of the target whose stem is `stem` from `dir` (see the
/// [module docs](self) for which), ignoring every error.
fn remove_stale(dir: &Path, stem: &OsStr) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Some((pid, counter)) = parse_temp_name(&entry.file_name(), stem) else {
            continue;
        };
        let path = entry.path();
        // Not followed: a symbolic link is not ours, whatever its name.
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_file() && is_stale(pid, counter, &meta) {
            let _ = fs::remove_file(&path);
        }
    }
}

/// Whether the temporary file of process `pid`'s save number `counter`, with metadata
/// `meta`, is a leftover.
fn is_stale(pid: u32, counter: u64, meta: &fs::Metadata) -> bool {
    if pid == std::process::id() {
        return !Reservation::in_progress(counter);
    }
    if process_state(pid) == Process::Gone {
        return true;
    }
    meta.modified()
        .ok()
        .and_then(|modified| SystemTime::now().duration_since(modified).ok())
        .is_some_and(|age| age > STALE_AGE)
}

/// What can be told of a process from its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Process {
    /// It is running (or stopped, or sleeping): its temporary file may be in use.
    Running,
    /// There is no such process, or it is a zombie: it writes no more.
    Gone,
    /// Cannot be told here.
    Unknown,
}

/// The state of process `pid`, from `/proc/PID/stat` on Linux; [`Process::Unknown`] where
/// `/proc` is not mounted or on other systems.
#[cfg(target_os = "linux")]
fn process_state(pid: u32) -> Process {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return Process::Unknown;
    }
    match fs::read(proc.join(pid.to_string()).join("stat")) {
        // `PID (COMMAND) STATE ...`: the command may hold `)`, so the state follows the last.
        Ok(stat) => match stat.iter().rposition(|&b| b == b')') {
            Some(i) => match stat.get(i + 2) {
                Some(b'Z' | b'X' | b'x') => Process::Gone,
                Some(_) => Process::Running,
                None => Process::Unknown,
            },
            None => Process::Unknown,
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Process::Gone,
        Err(_) => Process::Unknown,
    }
}

/// The state of process `pid`: not known on this system.
#[cfg(not(target_os = "linux"))]
fn process_state(_pid: u32) -> Process {
    Process::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;
    use nn_test_support::file_names;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn writes_replace_the_file_and_leave_nothing_else() -> TestResult {
        let dir = tempfile::tempdir()?;
        let target = dir.path().join("weights.bin");
        write_atomically(&target, &[b"old"])?;
        write_atomically(&target, &[b"new ", b"contents"])?;
        assert_eq!(fs::read(&target)?, b"new contents");
        assert_eq!(file_names(dir.path())?, ["weights.bin"]);
        Ok(())
    }

    #[test]
    fn a_name_of_255_bytes_can_be_saved() -> TestResult {
        let dir = tempfile::tempdir()?;
        for len in [FULL_NAME_MAX, FULL_NAME_MAX + 1, 243, 255] {
            let name = format!("{}.bin", "w".repeat(len - 4));
            assert_eq!(name.len(), len);
            let target = dir.path().join(&name);
            write_atomically(&target, &[b"one"])?;
            write_atomically(&target, &[b"two"])?;
            assert_eq!(fs::read(&target)?, b"two", "a {len}-byte name");
            assert!(file_names(dir.path())?.contains(&name));
        }
        let names = file_names(dir.path())?;
        assert_eq!(names.len(), 4, "{names:?}");
        Ok(())
    }

    #[test]
    fn temporary_names_stay_within_255_bytes() {
        // Multi-byte characters, cut anywhere, and the longest process id and counter.
        for name in [
            "a".repeat(255),
            "é".repeat(127),
            format!("x{}", "€".repeat(84)),
            "🦀".repeat(63),
            "b".repeat(FULL_NAME_MAX),
        ] {
            let stem = temp_stem(OsStr::new(&name));
            let temp = temp_name(&stem, u32::MAX, u64::MAX);
            assert!(
                temp.len() <= 255,
                "{} bytes for a {}-byte name",
                temp.len(),
                name.len()
            );
            assert_eq!(
                parse_temp_name(&temp, &stem),
                Some((u32::MAX, u64::MAX)),
                "{temp:?}"
            );
            if name.len() > FULL_NAME_MAX {
                assert!(stem.len() > FULL_NAME_MAX && stem.len() <= 218);
            } else {
                assert_eq!(stem, OsStr::new(&name));
            }
        }
        // Names that differ only past the kept prefix get different stems.
        let (a, b) = (
            format!("{}a", "n".repeat(240)),
            format!("{}b", "n".repeat(240)),
        );
        assert_ne!(temp_stem(OsStr::new(&a)), temp_stem(OsStr::new(&b)));
    }

    #[test]
    fn the_hash_is_fnv1a() {
        // The published test values of 64-bit FNV-1a.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn only_exact_temporary_names_parse() {
        let stem = OsStr::new("w.bin");
        let parse = |name: &str| parse_temp_name(OsStr::new(name), stem);
        assert_eq!(parse(".w.bin.12-3.tmp"), Some((12, 3)));
        for other in [
            "w.bin.12-3.tmp",
            ".w.bin.12-3.tmp.bak",
            ".w.bin.12-3.TMP",
            ".w.bin.-3.tmp",
            ".w.bin.12-.tmp",
            ".w.bin.12-3-4.tmp",
            ".w.bin.+12-3.tmp",
            ".w.bin.1a-3.tmp",
            ".w.bin.12_3.tmp",
            ".w.bin.99999999999-3.tmp",
            ".x.bin.12-3.tmp",
            ".w.bin.x.12-3.tmp",
            ".w.bin12-3.tmp",
            "..w.bin.12-3.tmp",
        ] {
            assert_eq!(parse(other), None, "{other}");
        }
    }

    /// The id of a process that has exited and been reaped.
    fn dead_pid() -> Result<u32, Box<dyn std::error::Error>> {
        let mut child = std::process::Command::new("true").spawn()?;
        let pid = child.id();
        child.wait()?;
        Ok(pid)
    }

    #[test]
    fn stale_temporaries_of_the_target_are_removed_and_nothing_else() -> TestResult {
        let dir = tempfile::tempdir()?;
        let target = dir.path().join("w.bin");
        let dead = dead_pid()?;
        let mine = std::process::id();
        let stale = [
            format!(".w.bin.{dead}-0.tmp"),
            format!(".w.bin.{dead}-17.tmp"),
            // This process, a counter no save of it uses: an earlier process with this id.
            format!(".w.bin.{mine}-{}.tmp", u64::MAX),
        ];
        let kept = [
            format!(".other.bin.{dead}-0.tmp"),
            format!("w.bin.{dead}-0.tmp"),
            format!(".w.bin.{dead}-0.tmp.bak"),
            format!(".w.bin.{dead}-0x.tmp"),
            "notes.txt".to_owned(),
        ];
        for name in stale.iter().chain(&kept) {
            fs::write(dir.path().join(name), b"leftover")?;
        }
        // A folder and a symbolic link of the right shape are not ours.
        let folder = format!(".w.bin.{dead}-1.tmp");
        fs::create_dir(dir.path().join(&folder))?;
        let link = format!(".w.bin.{dead}-2.tmp");
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path().join("notes.txt"), dir.path().join(&link))?;

        write_atomically(&target, &[b"saved"])?;
        assert_eq!(fs::read(&target)?, b"saved");
        let mut want: Vec<String> = kept.to_vec();
        want.push("w.bin".to_owned());
        want.push(folder);
        #[cfg(unix)]
        want.push(link);
        want.sort();
        assert_eq!(file_names(dir.path())?, want);
        Ok(())
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_running_process_keeps_its_temporary_until_it_is_old() -> TestResult {
        let dir = tempfile::tempdir()?;
        let target = dir.path().join("w.bin");
        let mut sleeper = std::process::Command::new("sleep").arg("60").spawn()?;
        let pid = sleeper.id();
        let (fresh, old) = (format!(".w.bin.{pid}-0.tmp"), format!(".w.bin.{pid}-1.tmp"));
        fs::write(dir.path().join(&fresh), b"in progress")?;
        fs::File::options()
            .create_new(true)
            .write(true)
            .open(dir.path().join(&old))?
            .set_modified(SystemTime::now() - STALE_AGE - Duration::from_secs(60))?;

        let saved = write_atomically(&target, &[b"saved"]);
        let entries = file_names(dir.path());
        sleeper.kill()?;
        sleeper.wait()?;
        saved?;
        assert_eq!(entries?, [fresh.as_str(), "w.bin"]);

        // Once the process is gone, its temporary is a leftover.
        write_atomically(&target, &[b"again"])?;
        assert_eq!(file_names(dir.path())?, ["w.bin"]);
        assert_eq!(fs::read(&target)?, b"again");
        Ok(())
    }

    #[test]
    fn concurrent_saves_of_one_target_keep_each_others_temporaries() -> TestResult {
        let dir = tempfile::tempdir()?;
        let target = dir.path().join("w.bin");
        let contents: Vec<Vec<u8>> = (0..4u8).map(|t| vec![t; 1 << 16]).collect();
        std::thread::scope(|s| {
            let handles: Vec<_> = contents
                .iter()
                .map(|c| {
                    let target = &target;
                    s.spawn(move || -> io::Result<()> {
                        for _ in 0..20 {
                            write_atomically(target, &[c])?;
                        }
                        Ok(())
                    })
                })
                .collect();
            handles
                .into_iter()
                .try_for_each(|h| h.join().expect("a save does not panic"))
        })?;
        assert!(contents.contains(&fs::read(&target)?));
        assert_eq!(file_names(dir.path())?, ["w.bin"]);
        Ok(())
    }

    #[test]
    fn a_path_without_a_file_name_is_refused() {
        let e = write_atomically(Path::new("/"), &[b"x"]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }
}
