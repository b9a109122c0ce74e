//! The operational routes: readiness is answered from a cached database
//! check, so a flood of `/readyz` costs the database almost nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use shared::testing::TestDatabase;
use sqlx::postgres::PgPoolOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One `GET` over a fresh connection; the status line and body.
async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: ops\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_is_answered_from_a_cached_check() {
    let db = TestDatabase::create().await;
    // Every database round trip of the routes takes a connection from this
    // pool; count the checkouts.
    let checkouts = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&checkouts);
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .before_acquire(move |_, _| {
            counter.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Ok(true) })
        })
        .connect(&db.url)
        .await
        .unwrap();
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .build_recorder()
        .handle();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let routes = shared::ops::routes(pool.clone(), metrics);
    let server = tokio::spawn(async move { axum::serve(listener, routes).await });

    let started = Instant::now();
    let before = checkouts.load(Ordering::SeqCst);
    for _ in 0..200 {
        let answer = get(addr, "/readyz").await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("ready\n"), "{answer}");
    }
    let pings = checkouts.load(Ordering::SeqCst) - before;
    // At most one check per second the loop ran (plus the first).
    let allowed = started.elapsed().as_secs() as usize + 1;
    assert!(
        pings <= allowed,
        "200 readiness calls made {pings} database round trips (at most {allowed} expected)"
    );
    server.abort();
}
