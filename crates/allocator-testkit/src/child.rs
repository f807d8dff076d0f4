//! [`run_test_in_child`]: one test of the running test binary, in a child
//! process, for checks that must watch a process end (an abort, a panic
//! inside the global allocator) without ending the test run.

use std::{
    io::Read,
    process::{Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

/// Runs the test named `test` of the current test binary alone in a child
/// process (`--exact --nocapture --test-threads=1`), with `env` added to
/// its environment, and returns how it ended and what it wrote to
/// standard error (read as it is written, so a long backtrace never fills
/// the pipe). The child's standard output is discarded.
///
/// The test itself usually checks an environment variable of `env` to
/// know it is the child.
///
/// # Panics
/// When the child cannot be started, or runs longer than `limit` (it is
/// killed first: a hang fails the calling test instead of the CI run).
pub fn run_test_in_child(test: &str, env: &[(&str, &str)], limit: Duration) -> (ExitStatus, String) {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut child = Command::new(exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the test binary starts again as a child");
    let mut pipe = child.stderr.take().expect("stderr is piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child's status") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{test}: the child ran longer than {limit:?}: {}", reader.join().unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status, reader.join().unwrap_or_default())
}
