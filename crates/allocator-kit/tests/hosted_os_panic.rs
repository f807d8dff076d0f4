//! A program whose global allocator is the hosted policy growing from the
//! operating system (`policy::HostedOs`, no arena): with `RUST_BACKTRACE=1`
//! a panic prints its message and backtrace, and the process exits with the
//! panic's code (101), instead of hanging in the heap. Run in a child
//! process with a time limit.

use std::time::Duration;

use allocator_testkit::run_test_in_child;

use allocator::policy::{hosted_os_depot, HostedOs, HostedOsDepot};

static DEPOT: HostedOsDepot = hosted_os_depot();
#[global_allocator]
static HEAP: HostedOs = HostedOs::new(&DEPOT);

const CHILD: &str = "ALLOCATOR_KIT_HOSTED_OS_PANIC_CHILD";

#[test]
fn a_panic_prints_its_backtrace_and_exits_with_101() {
    if std::env::var_os(CHILD).is_some() {
        // The child: allocate through the OS-grown heap, then panic.
        let v: Vec<u64> = (0..100_000).collect();
        std::hint::black_box(&v);
        panic!("the child panics with {} values live", v.len());
    }
    if std::env::var_os("ALLOCATOR_EMULATED").is_some() {
        // Under qemu-user the child is emulated too: the host steps run it.
        println!("skipped under an emulator");
        return;
    }
    let (status, stderr) = run_test_in_child(
        "a_panic_prints_its_backtrace_and_exits_with_101",
        &[(CHILD, "1"), ("RUST_BACKTRACE", "1")],
        Duration::from_secs(60),
    );
    assert!(stderr.contains("the child panics with 100000 values live"), "no message: {stderr}");
    assert!(stderr.contains("stack backtrace:"), "no backtrace: {stderr}");
    assert!(
        stderr.contains("a_panic_prints_its_backtrace_and_exits_with_101"),
        "no frame of the test: {stderr}"
    );
    // The test harness turns the panic into a failed test: exit code 101.
    assert_eq!(status.code(), Some(101), "{stderr}");
}
