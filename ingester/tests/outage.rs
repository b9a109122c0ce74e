//! The database goes away for 10 seconds mid-stream (a TCP proxy between the
//! ingester and PostgreSQL cuts every connection and refuses new ones, a
//! real outage at the socket level) and comes back: nothing is lost or
//! counted twice, and while it is away the ingester buffers up to its limit
//! and then stops reading the gateway.

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serverpulse_ingester::Tuning;
use sim_scenario::ScenarioSize;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Forwards TCP to `target` while up; when cut, drops every open connection
/// and closes new ones at once.
async fn proxy(target: SocketAddr) -> (SocketAddr, watch::Sender<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
    let addr = listener.local_addr().expect("proxy address");
    let (up_tx, up_rx) = watch::channel(true);
    tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                continue;
            };
            if !*up_rx.borrow() {
                drop(inbound);
                continue;
            }
            let mut up = up_rx.clone();
            tokio::spawn(async move {
                let Ok(mut outbound) = TcpStream::connect(target).await else {
                    return;
                };
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    _ = up.wait_for(|up| !*up) => {}
                }
            });
        }
    });
    (addr, up_tx)
}

fn buffered(metrics: &metrics_exporter_prometheus::PrometheusHandle) -> u64 {
    metrics
        .render()
        .lines()
        .find(|l| l.starts_with("serverpulse_ingester_buffered_events{"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outage_of_ten_seconds_loses_nothing() {
    const BUFFER: u64 = 500;
    let (scenario, truth) = common::scenario(5, ScenarioSize::SMALL);
    let events = scenario.events.len();
    let db = common::database(&truth.guild_ids).await;
    let mut url = url::Url::parse(&db.url).expect("database URL");
    let target: SocketAddr = format!(
        "{}:{}",
        url.host_str().expect("host"),
        url.port().unwrap_or(5432)
    )
    .parse()
    .expect("database address");
    let (proxy_addr, up) = proxy(target).await;
    url.set_port(Some(proxy_addr.port())).expect("port");
    url.set_host(Some("127.0.0.1")).expect("host");

    let sim = common::start_sim(scenario, Some(7.0 * 86_400.0 / 20.0)).await;
    let config = common::config(url.as_str(), sim.gateway.url(), "0", 1);
    let tuning = Tuning {
        flush_events: 200,
        buffer_events: BUFFER,
        ..Tuning::default()
    };
    let stop = CancellationToken::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let metrics = shared::telemetry::init_metrics("serverpulse-ingester");
    let ingester = tokio::spawn({
        let stop = stop.clone();
        let metrics = metrics.clone();
        async move {
            serverpulse_ingester::run_with(config, tuning, listener, metrics, async move {
                stop.cancelled().await
            })
            .await
        }
    });

    let deadline = Instant::now() + Duration::from_secs(60);
    while sim
        .gateway
        .shard_progress([0, 1])
        .is_none_or(|(cursor, _)| cursor < events / 5)
    {
        assert!(Instant::now() < deadline, "stream did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    up.send_replace(false);
    let cut = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let frozen = shared::db::ingest::load_checkpoint(&db.pool, 0, 1)
        .await
        .expect("checkpoint read directly");
    let mut most_buffered = 0;
    while cut.elapsed() < Duration::from_secs(10) {
        most_buffered = most_buffered.max(buffered(&metrics));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let still = shared::db::ingest::load_checkpoint(&db.pool, 0, 1)
        .await
        .expect("checkpoint read directly");
    assert_eq!(
        frozen, still,
        "nothing committed while the database was away"
    );
    // Reading stops at the buffer's limit, or earlier at a join or leave of
    // a member not in memory, whose row must be read from the database.
    assert!(
        most_buffered > 0 && most_buffered <= BUFFER,
        "frames were held while the database was away, at most the limit: {most_buffered}"
    );
    up.send_replace(true);

    common::wait_until_committed(&sim, &db, 1, Duration::from_secs(120)).await;
    stop.cancel();
    ingester.await.expect("join").expect("ingester ran cleanly");
    for guild in &truth.guild_ids {
        common::assert_guild_equals_truth(&db, &truth, *guild, &BTreeSet::new()).await;
        assert!(common::gap_hours(&db, *guild).await.is_empty());
    }
    sim.shutdown().await;
}
