//! The promises of issue 15 kept through the public API: a save killed half-way leaves the old
//! or the new file and nothing else once the next save ran, a legal 255-byte name can be saved,
//! and `DataParallel::new` refuses a thread count it cannot start.

use std::error::Error;
use std::fs;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use nn::{DataParallel, Network};
use nn_test_support::file_names;

type TestResult = Result<(), Box<dyn Error>>;

nn::network! {
    struct Digits: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;
}

/// Runs `f` on a thread of its own and returns its result, or fails the test after a minute:
/// a regression to hanging fails instead of blocking the suite.
fn within_a_minute<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || send.send(f()));
    receive
        .recv_timeout(Duration::from_secs(60))
        .expect("returned within a minute")
}

// --- a save killed half-way ------------------------------------------------------------------

/// Set in the child process: the labels file it saves, again and again, until it is killed.
const CHILD_TARGET: &str = "NN_HARDENING_SAVE_LOOP_TARGET";

/// Printed by the child once its first save is complete.
const CHILD_READY: &str = "nn-hardening-child-ready";

/// The number of labels in each file: 32 MiB, so that a save takes long enough to be killed
/// in the middle.
const LABELS: usize = 32 << 20;

/// `LABELS` labels, all `value`.
fn labels(value: u8) -> Vec<u8> {
    vec![value; LABELS]
}

/// The bytes of the IDX labels file of `labels`, written out by hand from the format (magic
/// 0x00000801, the count as a big-endian u32, one byte a label) as an independent reference.
fn labels_file(labels: &[u8]) -> Vec<u8> {
    let count = u32::try_from(labels.len()).expect("fewer than 2^32 labels");
    let mut bytes = vec![0, 0, 8, 1];
    bytes.extend_from_slice(&count.to_be_bytes());
    bytes.extend_from_slice(labels);
    bytes
}

/// Not a test of its own: the body of the child process that
/// `a_killed_save_leaves_the_old_or_new_file_and_the_next_save_cleans_up` starts (this test
/// binary again, running only this test, with `NN_HARDENING_SAVE_LOOP_TARGET` set). Saves
/// labels of 2 and of 3 to the target in turn, forever; does nothing without the variable.
#[test]
fn child_process_saving_until_killed() -> TestResult {
    let Some(target) = std::env::var_os(CHILD_TARGET) else {
        return Ok(());
    };
    let contents = [labels(2), labels(3)];
    for round in 0.. {
        nn::data::write_labels(&target, &contents[round % 2])?;
        if round == 0 {
            println!("{CHILD_READY}");
        }
    }
    Ok(())
}

/// Starts the child process that saves to `target` until killed, and waits until its first
/// save is complete.
#[cfg(target_os = "linux")]
fn start_saving_child(target: &Path) -> Result<std::process::Child, Box<dyn Error>> {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "--exact",
            "child_process_saving_until_killed",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_TARGET, target)
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("the child has no stdout")?;
    for line in BufReader::new(stdout).lines() {
        if line?.contains(CHILD_READY) {
            return Ok(child);
        }
    }
    let status = child.wait()?;
    Err(format!("the child ended before its first save was complete: {status}").into())
}

/// The temporary files in `dir`'s listing: every entry but `target`.
fn temporaries(entries: &[String], target: &str) -> Vec<String> {
    entries.iter().filter(|e| *e != target).cloned().collect()
}

/// A child saving 32 MiB files in a loop is SIGKILLed at times spread over its saves, ten
/// times. After each kill the target must be one of the complete files (the first, or one of
/// the child's two), and after the next save in this process it must be that save's file,
/// alone in the folder: no temporary left behind. On Linux, where a save can tell that the
/// killed process is gone (see `nn-core/src/atomic_file.rs`).
#[cfg(target_os = "linux")]
#[test]
fn a_killed_save_leaves_the_old_or_new_file_and_the_next_save_cleans_up() -> TestResult {
    let dir = tempfile::tempdir()?;
    let name = "train-labels-idx1-ubyte";
    let target = dir.path().join(name);
    let complete = [
        labels_file(&labels(1)),
        labels_file(&labels(2)),
        labels_file(&labels(3)),
    ];
    nn::data::write_labels(&target, &labels(1))?;

    let mut kills_that_left_a_temporary = 0;
    for attempt in 0..10u64 {
        let mut child = start_saving_child(&target)?;
        // Spread the kills over a save: 0 to 45 ms after the end of the first one.
        std::thread::sleep(Duration::from_millis(attempt * 5));
        child.kill()?;
        child.wait()?;

        let left = temporaries(&file_names(dir.path())?, name);
        if !left.is_empty() {
            kills_that_left_a_temporary += 1;
        }
        let found = fs::read(&target)?;
        assert!(
            complete.contains(&found),
            "kill {attempt}: the target is not a complete file ({} bytes)",
            found.len()
        );

        nn::data::write_labels(&target, &labels(1))?;
        assert_eq!(
            file_names(dir.path())?,
            [name],
            "kill {attempt}: left {left:?}, and the next save did not remove it"
        );
        assert_eq!(fs::read(&target)?, complete[0], "kill {attempt}");
    }
    // Otherwise the test would not have seen what it is about.
    assert!(
        kills_that_left_a_temporary > 0,
        "no kill happened during a save"
    );
    Ok(())
}

// --- long names ------------------------------------------------------------------------------

/// A file name of `len` bytes ending in `extension`.
fn name_of(len: usize, extension: &str) -> String {
    let name = format!("{}{extension}", "n".repeat(len - extension.len()));
    assert_eq!(name.len(), len);
    name
}

#[test]
fn weights_and_data_can_be_saved_under_a_255_byte_name() -> TestResult {
    let dir = tempfile::tempdir()?;
    let net = Digits::new(7);
    for len in [242, 243, 250, 255] {
        let path = dir.path().join(name_of(len, ".safetensors"));
        nn::weights::save(&net, &path)?;
        nn::weights::save(&net, &path)?; // over an existing file too
        let loaded: Digits = nn::weights::load(&path)?;
        assert!(loaded.parameters().flatten().eq(net.parameters().flatten()));

        let path = dir.path().join(name_of(len, ".idx1-ubyte"));
        nn::data::write_labels(&path, &[1, 2, 3])?;
        assert_eq!(nn::data::read_labels(&path)?, [1, 2, 3]);
    }
    // The two files of each length and nothing else.
    let names = file_names(dir.path())?;
    assert_eq!(names.len(), 8, "{names:?}");
    Ok(())
}

// --- thread counts ---------------------------------------------------------------------------

#[test]
fn data_parallel_refuses_more_threads_than_it_can_start() {
    let limit = nn::parallel::max_threads();
    assert!(limit >= nn::parallel::THREADS_PER_CORE);
    for requested in [limit + 1, 65_536, usize::MAX] {
        let result = within_a_minute(move || DataParallel::<Digits>::new(requested).map(|_| ()));
        let error = result.expect_err("too many threads");
        assert_eq!(
            error,
            nn::Error::TooManyThreads {
                requested,
                limit,
                per_core: nn::parallel::THREADS_PER_CORE
            }
        );
        let message = error.to_string();
        for number in [requested, limit, nn::parallel::THREADS_PER_CORE] {
            assert!(
                message.contains(&number.to_string()),
                "{message:?} does not say {number}"
            );
        }
    }
    let two = DataParallel::<Digits>::new(2).expect("two threads are within the limit");
    assert_eq!(two.threads(), 2);
}
