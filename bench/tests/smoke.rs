//! The harness must not rot: run the tiny `--smoke` profile (seconds, no
//! figures worth reading) and check the JSON has every key the README and
//! RESULTS.md are built from. Nothing here asserts a timing.

use std::process::Command;

use serde_json::Value;

fn at<'a>(report: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(report, |value, key| &value[key])
}

#[test]
fn smoke_profile_writes_every_expected_key() {
    let dir = std::env::temp_dir().join(format!("serverpulse-bench-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let json_path = dir.join("bench.json");
    let output = Command::new(env!("CARGO_BIN_EXE_serverpulse-bench"))
        .args(["--smoke", "--json"])
        .arg(&json_path)
        .arg("all")
        .output()
        .expect("run serverpulse-bench");
    assert!(
        output.status.success(),
        "exit {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("INGEST") && stdout.contains("COMMANDS") && stdout.contains("GOALS"),
        "{stdout}"
    );

    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).expect("JSON written"))
            .expect("valid JSON");
    for key in [
        "profile",
        "total_secs",
        "machine.cpus",
        "machine.postgres",
        "ingest.events",
        "ingest.guilds",
        "ingest.ingester.status",
        "ingest.ingester.how",
        "ingest.naive_bot.how",
        "ingest.naive_bot.events_per_sec",
        "ingest.naive_bot.database.wal_bytes_per_event",
        "ingest.naive_bot.database.postgres_cpu_us_per_event",
        "ingest.naive_bot.database.rows_written_per_event",
        "ingest.ingester.database.wal_bytes_per_event",
        "ingest.ingester.database.rows_written_per_event",
        "ingest.ingester.ingester_cpu_us_per_event",
        "ingest.per_event_insert.events_per_sec",
        "ingest.per_event_insert.database.wal_bytes_per_event",
        "ingest.copy_binary.events_per_sec",
        "ingest.twilight_parse.events_per_sec",
        "ingest.ratios",
        "commands.guild.members",
        "commands.guild.messages",
        "commands.signature_verify.micros_per_verify",
        "commands.ping.status",
        "commands.latencies",
        "commands.naive.periods",
        "commands.missing",
        "goals",
    ] {
        assert!(!at(&report, key).is_null(), "{key} missing from {report:#}");
    }
    assert_eq!(report["profile"], "smoke");
    for key in [
        "ingester_over_naive",
        "naive_over_ingester_wal_bytes_per_event",
        "naive_over_ingester_postgres_cpu_per_event",
        "ingester_cpu_over_parse_cpu",
        "ingester_over_insert",
        "ingester_over_copy",
        "ingester_over_parse",
    ] {
        assert!(
            report["ingest"]["ratios"].get(key).is_some(),
            "ratios.{key}"
        );
    }
    let latencies = report["commands"]["latencies"].as_array().expect("array");
    assert!(!latencies.is_empty());
    for l in latencies {
        for key in [
            "command",
            "chart",
            "concurrency",
            "status",
            "p50_ms",
            "p99_ms",
            "max_ms",
        ] {
            assert!(l.get(key).is_some(), "latency entry lacks {key}: {l}");
        }
    }
    assert!(
        report["commands"]["latencies"]
            .as_array()
            .is_some_and(|l| l.iter().any(|l| l["concurrency"] == 32))
    );
    for period in report["commands"]["naive"]["periods"]
        .as_array()
        .expect("periods")
    {
        assert_eq!(
            period["same_figures"], true,
            "naive and rollup figures agree: {period}"
        );
    }
    // Both ways of counting active members give the same number.
    let options = report["commands"]["active_member_options"]["periods"]
        .as_array()
        .expect("the active-member options");
    assert_eq!(options.len(), 3);
    for period in options {
        assert_eq!(period["same_count"], true, "{period}");
        assert!(period["bitmaps_p50_ms"].is_number(), "{period}");
    }
    // A burst through the answer cache is computed once, then kept.
    let waves = report["commands"]["answer_cache_burst"]["waves"]
        .as_array()
        .expect("the burst's waves");
    let computed: Vec<_> = waves
        .iter()
        .map(|w| (w["computed"].as_u64(), w["failed"].as_u64()))
        .collect();
    assert_eq!(computed, [(Some(1), Some(0)), (Some(0), Some(0))]);
    // Four ingest goals and issue 14's three command goals (text and chart
    // at concurrency 1, every view at 32), each naming its worst view.
    let goals = report["goals"].as_array().expect("the goals");
    assert_eq!(goals.len(), 7);
    let command_goals: Vec<_> = goals
        .iter()
        .filter(|g| {
            g["goal"]
                .as_str()
                .is_some_and(|g| g.contains("view within"))
        })
        .collect();
    assert_eq!(command_goals.len(), 3);
    assert!(
        command_goals.iter().all(|g| g["worst"].is_string()),
        "{command_goals:?}"
    );
    // Every event the naive bot was sent is one row: it wrote at least one
    // row per event (the inserts), and the ingester's rollups fewer.
    let naive_rows = report["ingest"]["naive_bot"]["database"]["rows_written_per_event"]
        .as_f64()
        .expect("naive rows per event");
    assert!(naive_rows >= 1.0, "naive bot rows per event {naive_rows}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The alert benchmark's smoke run: every raid posted once, with the exact
/// count (its latency figures are printed, never asserted).
#[test]
fn smoke_alerts_post_every_raid_once() {
    let dir = std::env::temp_dir().join(format!(
        "serverpulse-bench-smoke-alerts-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let json_path = dir.join("alerts.json");
    let output = Command::new(env!("CARGO_BIN_EXE_serverpulse-bench"))
        .args(["--smoke", "--json"])
        .arg(&json_path)
        .arg("alerts")
        .output()
        .expect("run serverpulse-bench");
    assert!(
        output.status.success(),
        "exit {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).expect("JSON written"))
            .expect("valid JSON");
    let alerts = &report["alerts"];
    assert_eq!(alerts["raids"], 2, "{alerts}");
    assert_eq!(alerts["posted"], 2, "{alerts}");
    assert_eq!(alerts["missing"], 0, "{alerts}");
    assert_eq!(alerts["second_posts"], 0, "{alerts}");
    assert_eq!(alerts["incidents_with_exact_count"], 2, "{alerts}");
    for key in ["p50", "p99", "max"] {
        assert!(alerts["latency_ms"][key].is_number(), "{alerts}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
