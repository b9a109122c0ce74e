//! The `serverpulse-ingester` binary starts, migrates, serves health, stops
//! on signals and fails with one clear line.

#[tokio::test(flavor = "multi_thread")]
async fn binary_lifecycle() {
    // Without SHARD_TOTAL the ingester first asks Discord for its shards.
    // Here "Discord" accepts connections and never answers, so the process
    // is still starting (healthy, ready, waiting) when the signals come,
    // instead of racing a DNS failure for discord.com on a machine offline.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a silent Discord");
    let api_url = format!("http://{}/api/v10", silent.local_addr().unwrap());
    let env = [
        ("DISCORD_TOKEN", "test-token".to_owned()),
        ("DISCORD_API_URL", api_url),
    ];
    shared::testing::check_binary_lifecycle(
        env!("CARGO_BIN_EXE_serverpulse-ingester"),
        &["run"],
        "INGESTER_PORT",
        &env,
        &["DATABASE_URL", "DISCORD_TOKEN"],
    )
    .await;
}
