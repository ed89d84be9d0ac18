//! Streaming in bounded memory, and who holds a pipe open.

use std::time::Duration;

use super::{argv, busybox, drain};
use crate::process::{ExitStatus, Output, OutputReader, Stdio};

const GIB: u64 = 1 << 30;

/// Reads everything, returning (total bytes, largest chunk, number of chunks).
async fn count(mut reader: OutputReader) -> (u64, usize, u64) {
    let (mut total, mut largest, mut chunks) = (0u64, 0usize, 0u64);
    while let Some(chunk) = reader.next().await {
        total += chunk.len() as u64;
        largest = largest.max(chunk.len());
        chunks += 1;
    }
    (total, largest, chunks)
}

#[tokio::test]
async fn head_c_of_a_gibibyte_of_dev_zero_streams_in_64k_chunks() {
    let sim = busybox();
    let (stdout, out) = Output::pipe();
    let p = sim
        .spawn(
            &argv(&["head", "-c", "1073741824", "/dev/zero"]),
            Stdio {
                stdin: Default::default(),
                stdout,
                stderr: Output::null(),
            },
        )
        .unwrap();
    let ((total, largest, chunks), status) = tokio::join!(count(out), p.wait());
    assert_eq!(
        (total, largest, chunks),
        (GIB, 64 * 1024, GIB / (64 * 1024))
    );
    assert_eq!(status, ExitStatus::Exited(0));
    sim.shutdown().await;
}

#[tokio::test]
async fn yes_piped_into_head_c_moves_a_gibibyte_and_yes_dies_of_sigpipe() {
    let sim = busybox();
    let (stdout, out) = Output::pipe();
    let p = sim
        .spawn(
            &argv(&["sh", "-c", "yes | head -c 1073741824"]),
            Stdio {
                stdin: Default::default(),
                stdout,
                stderr: Output::null(),
            },
        )
        .unwrap();
    let ((total, largest, _), status) = tokio::join!(count(out), p.wait());
    assert_eq!((total, status), (GIB, ExitStatus::Exited(0)));
    assert!(largest <= 64 * 1024);
    assert_eq!(sim.processes(), vec![]);
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_writer_waits_for_a_slow_reader_instead_of_buffering() {
    let sim = busybox();
    let (stdout, mut out) = Output::pipe();
    let p = sim
        .spawn(
            &argv(&["head", "-c", "1073741824", "/dev/zero"]),
            Stdio {
                stdin: Default::default(),
                stdout,
                stderr: Output::null(),
            },
        )
        .unwrap();
    assert_eq!(out.next().await.map(|c| c.len()), Some(64 * 1024));
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(
        p.try_status(),
        None,
        "head must be blocked on the full pipe"
    );
    drop(out);
    assert_eq!(p.wait().await.code(), 141);
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_background_sleep_holds_the_pipe_until_it_ends() {
    let sim = busybox();
    let (stdout, out) = Output::pipe();
    let start = tokio::time::Instant::now();
    let p = sim
        .spawn(
            &argv(&["sh", "-c", "sleep 20 & echo bg"]),
            Stdio {
                stdin: Default::default(),
                stdout,
                stderr: Output::null(),
            },
        )
        .unwrap();
    assert_eq!(p.wait().await, ExitStatus::Exited(0));
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(drain(out).await, b"bg\n");
    assert_eq!(start.elapsed(), Duration::from_secs(20));
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_background_sleep_redirected_to_dev_null_does_not_hold_the_pipe() {
    let sim = busybox();
    let (stdout, out) = Output::pipe();
    let (stderr, err) = Output::pipe();
    let start = tokio::time::Instant::now();
    let p = sim
        .spawn(
            &argv(&["sh", "-c", "sleep 20 >/dev/null 2>&1 & echo bg"]),
            Stdio {
                stdin: Default::default(),
                stdout,
                stderr,
            },
        )
        .unwrap();
    let (o, e, status) = tokio::join!(drain(out), drain(err), p.wait());
    assert_eq!(
        (o, e, status),
        (b"bg\n".to_vec(), vec![], ExitStatus::Exited(0))
    );
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(sim.processes().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn binary_output_keeps_every_byte() {
    let sim = busybox();
    let r = super::run_in(&sim, &["sh", "-c", "printf 'a\\000b\\377'"]).await;
    assert_eq!(r.stdout, b"a\0b\xff");
    sim.shutdown().await;
}
