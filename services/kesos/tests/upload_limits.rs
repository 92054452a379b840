//! The import upload over a real socket: a body past the upload limit is a 413, a file past a
//! reader limit a 422, both problem+json naming the limit (embedded mode: no storage is reached).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{embedded_config, start};
use kesos_testkit::SqliteFile;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_past_a_limit_are_refused_with_a_problem_naming_the_limit() {
    let file = SqliteFile::create();
    let running = start(embedded_config(&file)).await;

    // Past the request body limit (64 MiB): 413, before the file is read.
    let too_big = vec![b'x'; 64 * 1024 * 1024 + 1];
    let (status, content_type, problem) = running.post_bytes("/v1/imports/workers", too_big).await;
    assert_eq!(
        (status, content_type.as_str()),
        (413, "application/problem+json"),
        "{problem}"
    );
    assert_eq!(problem["errors"][0]["rule"], "file.limit.upload_bytes");
    assert!(problem["detail"].as_str().unwrap().contains("64 MiB"));

    // A small file past a reader limit (the padding bomb): 422 naming the column limit.
    let header: Vec<String> = (0..16_384).map(|i| format!("k{i}")).collect();
    let mut bomb = header.join(",").into_bytes();
    bomb.extend(b"\nx".repeat(100_000));
    let (status, content_type, problem) = running.post_bytes("/v1/imports/workers", bomb).await;
    assert_eq!(
        (status, content_type.as_str()),
        (422, "application/problem+json"),
        "{problem}"
    );
    assert_eq!(problem["errors"][0]["field"], "file");
    assert_eq!(problem["errors"][0]["rule"], "file.limit.columns");
    assert!(
        problem["detail"].as_str().unwrap().contains("column 1024"),
        "{problem}"
    );

    running.stop().await;
}
