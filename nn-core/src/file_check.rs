//! Opening a file to read only if it is a regular file: a FIFO, a folder, a socket or a
//! device given as a data or weights file is refused with [`NotRegularFile`] instead of
//! blocking the loader or reading without end.
//!
//! The loaders report the refusal as their usual read error, whose source is an
//! [`io::Error`] of kind [`InvalidInput`](io::ErrorKind::InvalidInput) wrapping a
//! [`NotRegularFile`]; find it with [`NotRegularFile::find`]:
//!
//! ```
//! use nn_core::file_check::{FileKind, NotRegularFile};
//!
//! # fn show(error: &(dyn std::error::Error + 'static)) {
//! if let Some(refused) = NotRegularFile::find(error) {
//!     if refused.kind() == FileKind::Fifo {
//!         eprintln!("{} is a pipe: save the data to a file first", refused.path().display());
//!     }
//! }
//! # }
//! ```

use std::fmt;
use std::fs::{File, FileType, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// What a path that is not a regular file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileKind {
    /// A folder.
    Directory,
    /// A FIFO (a named pipe): reading it would wait for a writer.
    Fifo,
    /// A Unix domain socket.
    Socket,
    /// A block device, such as a disk.
    BlockDevice,
    /// A character device, such as a terminal or `/dev/zero`.
    CharDevice,
    /// Anything else that is not a regular file.
    Other,
}

impl FileKind {
    /// What `file_type` is, for a type that is not a regular file.
    fn of(file_type: FileType) -> Self {
        if file_type.is_dir() {
            return FileKind::Directory;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if file_type.is_fifo() {
                return FileKind::Fifo;
            }
            if file_type.is_socket() {
                return FileKind::Socket;
            }
            if file_type.is_block_device() {
                return FileKind::BlockDevice;
            }
            if file_type.is_char_device() {
                return FileKind::CharDevice;
            }
        }
        FileKind::Other
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Directory => "directory",
            FileKind::Fifo => "FIFO (named pipe)",
            FileKind::Socket => "socket",
            FileKind::BlockDevice => "block device",
            FileKind::CharDevice => "character device",
            FileKind::Other => "special file",
        })
    }
}

/// A path to be read that is not a regular file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} is a {kind}, not a regular file", .path.display())]
pub struct NotRegularFile {
    /// The path that was opened.
    path: PathBuf,
    /// What it is.
    kind: FileKind,
}

impl NotRegularFile {
    /// The path that was given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the path is.
    pub fn kind(&self) -> FileKind {
        self.kind
    }

    /// The refusal in `error` or in its chain of sources, also inside an [`io::Error`].
    pub fn find<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a Self> {
        let mut next = Some(error);
        while let Some(e) = next {
            if let Some(found) = e.downcast_ref::<Self>() {
                return Some(found);
            }
            if let Some(found) = e
                .downcast_ref::<io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<Self>())
            {
                return Some(found);
            }
            next = e.source();
        }
        None
    }

    /// The refusal as the I/O error the loaders carry.
    fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidInput, self)
    }
}

/// The refusal of `path`, of type `file_type` (not a regular file), as the I/O error the
/// loaders carry: for a lookup that found such a path before opening it.
pub(crate) fn refusal(path: &Path, file_type: FileType) -> io::Error {
    NotRegularFile {
        path: path.to_path_buf(),
        kind: FileKind::of(file_type),
    }
    .into_io()
}

/// Opens `path` for reading if it is a regular file (following symbolic links).
///
/// The kind is checked on the opened handle (`fstat`), not on the path beforehand, so the
/// path cannot be swapped in between. On Unix the file is opened with `O_NONBLOCK`, so that
/// opening a FIFO does not wait for a writer (and `O_NOCTTY`, so a terminal does not become
/// the process's), and is then refused; `O_NONBLOCK` has no effect on reading a regular file.
/// A socket cannot be opened at all (`ENXIO`): the path is then looked at to say so.
///
/// # Errors
///
/// An [`io::Error`] of kind [`InvalidInput`](io::ErrorKind::InvalidInput) holding a
/// [`NotRegularFile`] for anything but a regular file; the operating system's error if the
/// path cannot be opened or its metadata read.
pub(crate) fn open_regular(path: &Path) -> io::Result<File> {
    let refuse = |kind| {
        NotRegularFile {
            path: path.to_path_buf(),
            kind,
        }
        .into_io()
    };
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = match options.open(path) {
        Ok(file) => file,
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
            return Err(match std::fs::metadata(path) {
                Ok(meta) if !meta.is_file() => refuse(FileKind::of(meta.file_type())),
                _ => e,
            });
        }
        Err(e) => return Err(e),
    };
    let file_type = file.metadata()?.file_type();
    if file_type.is_file() {
        Ok(file)
    } else {
        Err(refuse(FileKind::of(file_type)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::sync::mpsc;
    use std::time::Duration;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// `open_regular(path)`, run on a thread of its own so that a regression that blocks
    /// fails the test instead of hanging it.
    fn open_within_a_minute(path: &Path) -> io::Result<File> {
        let (send, receive) = mpsc::channel();
        let path = path.to_path_buf();
        std::thread::spawn(move || send.send(open_regular(&path)));
        receive
            .recv_timeout(Duration::from_secs(60))
            .expect("open_regular returned instead of blocking")
    }

    /// The refusal in `result`, checked to name `path` and `kind`.
    fn assert_refused(result: io::Result<File>, path: &Path, kind: FileKind) {
        let e = result.expect_err("not a regular file");
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e:?}");
        let refused = NotRegularFile::find(&e).expect("a NotRegularFile inside");
        assert_eq!(refused.kind(), kind);
        assert_eq!(refused.path(), path);
        let message = e.to_string();
        for part in [
            &path.display().to_string(),
            &kind.to_string(),
            "not a regular file",
        ] {
            assert!(message.contains(part), "{message:?} does not name {part:?}");
        }
    }

    #[test]
    fn a_regular_file_opens_and_reads() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("data.bin");
        std::fs::write(&path, b"contents")?;
        let mut read = String::new();
        open_within_a_minute(&path)?.read_to_string(&mut read)?;
        assert_eq!(read, "contents");
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_to_a_regular_file_opens() -> TestResult {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("data.bin"), b"x")?;
        std::os::unix::fs::symlink(dir.path().join("data.bin"), dir.path().join("link"))?;
        open_within_a_minute(&dir.path().join("link"))?;
        Ok(())
    }

    #[test]
    fn a_missing_file_is_the_operating_systems_error() -> TestResult {
        let dir = tempfile::tempdir()?;
        let e = open_within_a_minute(&dir.path().join("missing")).expect_err("no such file");
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(NotRegularFile::find(&e).is_none());
        Ok(())
    }

    #[test]
    fn a_directory_is_refused() -> TestResult {
        let dir = tempfile::tempdir()?;
        assert_refused(
            open_within_a_minute(dir.path()),
            dir.path(),
            FileKind::Directory,
        );
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_waiting_for_a_writer() -> TestResult {
        let dir = tempfile::tempdir()?;
        let fifo = dir.path().join("pipe");
        let status = std::process::Command::new("mkfifo").arg(&fifo).status()?;
        assert!(status.success(), "mkfifo failed: {status}");
        assert_refused(open_within_a_minute(&fifo), &fifo, FileKind::Fifo);
        // Through a symbolic link too.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&fifo, &link)?;
        assert_refused(open_within_a_minute(&link), &link, FileKind::Fifo);
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn a_socket_is_refused() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("sock");
        let _listener = std::os::unix::net::UnixListener::bind(&path)?;
        assert_refused(open_within_a_minute(&path), &path, FileKind::Socket);
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn a_character_device_is_refused() {
        let path = Path::new("/dev/null");
        assert_refused(open_within_a_minute(path), path, FileKind::CharDevice);
    }

    #[test]
    fn the_refusal_is_found_in_a_chain_of_errors() {
        /// An error whose source is an I/O error, as the loaders' read errors are.
        #[derive(Debug, thiserror::Error)]
        #[error("cannot read it")]
        struct Outer(#[source] io::Error);

        let refused = NotRegularFile {
            path: PathBuf::from("p"),
            kind: FileKind::Fifo,
        };
        let outer = Outer(refused.clone().into_io());
        assert_eq!(NotRegularFile::find(&outer), Some(&refused));
        assert_eq!(NotRegularFile::find(&refused), Some(&refused));
        assert!(NotRegularFile::find(&Outer(io::Error::other("x"))).is_none());
    }
}
