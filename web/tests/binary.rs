//! The `serverpulse-web` binary starts, migrates, serves health, stops on
//! signals and fails with one clear line.

#[tokio::test(flavor = "multi_thread")]
async fn binary_lifecycle() {
    // The lifecycle check probes health, readiness and metrics: the ops port.
    let env = [
        ("PORT", shared::testing::free_port().to_string()),
        ("DISCORD_TOKEN", "test-token".to_owned()),
        ("DISCORD_APPLICATION_ID", "1234".to_owned()),
        (
            "DISCORD_PUBLIC_KEY",
            discord_sim::InteractionKeys::from_secret([1; 32]).public_key_hex(),
        ),
    ];
    shared::testing::check_binary_lifecycle(
        env!("CARGO_BIN_EXE_serverpulse-web"),
        &["serve"],
        "OPS_PORT",
        &env,
        &[
            "DATABASE_URL",
            "DISCORD_TOKEN",
            "DISCORD_APPLICATION_ID",
            "DISCORD_PUBLIC_KEY",
        ],
    )
    .await;
}
