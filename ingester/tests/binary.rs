//! The `serverpulse-ingester` binary starts, migrates, serves health, stops
//! on signals and fails with one clear line.

#[tokio::test(flavor = "multi_thread")]
async fn binary_lifecycle() {
    let env = [("DISCORD_TOKEN", "test-token".to_owned())];
    shared::testing::check_binary_lifecycle(
        env!("CARGO_BIN_EXE_serverpulse-ingester"),
        &["run"],
        "INGESTER_PORT",
        &env,
        &["DATABASE_URL", "DISCORD_TOKEN"],
    )
    .await;
}
