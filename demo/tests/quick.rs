//! The demo's quick form runs end to end: a local Discord, the real
//! ingester and web endpoint, every command, Markdown and PNG output, exit 0.

use std::time::Duration;

use shared::testing::ChildProcess;

#[tokio::test(flavor = "multi_thread")]
async fn quick_demo_answers_every_command_and_writes_its_output() {
    let out = std::env::temp_dir().join(format!("serverpulse-demo-test-{}", std::process::id()));
    let out_arg = out.to_string_lossy().into_owned();
    let mut demo = ChildProcess::spawn(
        env!("CARGO_BIN_EXE_serverpulse-demo"),
        &["--quick", "--out", &out_arg],
        &[("DATABASE_URL", shared::testing::server_url())],
    );
    let database = format!("serverpulse_demo_{}", demo.child.id());
    let status = demo.wait_exit(Duration::from_secs(300));
    let stderr = demo.stderr();
    assert!(status.success(), "demo failed: {stderr}");

    let index = std::fs::read_to_string(out.join("index.md")).expect("index.md written");
    let rows = index
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| #"))
        .count();
    assert!(rows >= 25, "every command has a row in the index: {index}");
    assert!(!index.contains("| failed |"), "{index}");
    for command in [
        "/setup",
        "/serverstats overview",
        "/serverstats members",
        "/serverstats activity",
        "/serverstats channels",
        "/serverstats trends",
        "/topmessagers",
        "/leaderboard",
        "/activity analyze member",
        "/activity analyze channel",
        "/activity analyze comparative",
        "button under the overview",
        "/serverstats activity type:emoji",
        "/serverstats channels type:health",
        "/serverstats channels type:deletions",
        "/leaderboard metric:reactions-received",
        "/activity analyze channel metric:emoji",
        "[What is active-member ratio?] button under the overview",
        "/remove-collect-channel",
        "/add-collect-channel",
        "/set-update-channel",
        "/set-digest",
        "/digest preview",
        "daily digest posted in",
        "weekly digest posted in",
        "/backfill start",
        "/backfill status",
    ] {
        assert!(index.contains(command), "{command} missing from the index");
    }

    let overview = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .contains("serverstats-overview-timeframe-30d.md")
        })
        .expect("the 30-day overview was written");
    let overview = std::fs::read_to_string(overview.path()).unwrap();
    assert!(overview.contains("**Messages**"), "{overview}");
    assert!(overview.contains("**Message concentration**"), "{overview}");
    assert!(
        !overview.contains("No activity"),
        "the replayed history was counted: {overview}"
    );

    let pngs: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "png"))
        .collect();
    assert!(pngs.len() >= 5, "charts were saved");
    for png in &pngs {
        let bytes = std::fs::read(png.path()).unwrap();
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{:?} is a PNG",
            png.path()
        );
        let markdown_links = std::fs::read_dir(&out)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "md"))
            .any(|md| {
                std::fs::read_to_string(md.path())
                    .unwrap()
                    .contains(&*png.file_name().to_string_lossy())
            });
        assert!(markdown_links, "{:?} is shown in a message", png.path());
    }

    // Nothing left behind: its database is gone.
    assert!(
        !shared::testing::database_exists(&database).await,
        "the demo dropped its database"
    );
    let _ = std::fs::remove_dir_all(&out);
}
