//! The deployment files say what the README says they do: fly.toml runs
//! migrations once per deploy, keeps a web machine running, checks the
//! ingester without a public service, and gives both binaries the time
//! their graceful shutdown needs; the systemd units pass `systemd-analyze
//! verify` and carry the restart back-off, the restricted environment file
//! and the hardening options.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repository().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// "40s", "5m" or a number of seconds, as fly.toml accepts them.
fn fly_duration(value: &toml::Value) -> Duration {
    match value {
        toml::Value::Integer(secs) => Duration::from_secs(*secs as u64),
        toml::Value::String(text) => {
            let (number, unit) = text.split_at(
                text.find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(text.len()),
            );
            let number: u64 = number
                .parse()
                .unwrap_or_else(|_| panic!("duration {text:?}"));
            match unit {
                "" | "s" => Duration::from_secs(number),
                "m" => Duration::from_secs(number * 60),
                other => panic!("unexpected unit {other:?} in {text:?}"),
            }
        }
        other => panic!("not a duration: {other:?}"),
    }
}

fn processes_of(table: &toml::Value) -> Vec<String> {
    table
        .get("processes")
        .and_then(toml::Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| p.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn fly_toml_runs_migrations_once_keeps_the_web_up_and_waits_for_graceful_shutdown() {
    let fly: toml::Table = read("fly.toml").parse().expect("fly.toml parses");

    let processes = fly["processes"].as_table().expect("[processes]");
    assert_eq!(processes["web"].as_str(), Some("serverpulse-web serve"));
    assert_eq!(
        processes["ingester"].as_str(),
        Some("serverpulse-ingester run")
    );

    // Migrations: once per deploy, before machines are replaced.
    assert_eq!(
        fly["deploy"]["release_command"].as_str(),
        Some("serverpulse-web migrate")
    );

    // The web: never stopped by the proxy, at least one machine running.
    let service = fly["http_service"].as_table().expect("[http_service]");
    assert_eq!(processes_of(&fly["http_service"]), vec!["web"]);
    assert_eq!(service["internal_port"].as_integer(), Some(8080));
    let auto_stop = &service["auto_stop_machines"];
    assert!(
        auto_stop.as_str() == Some("off") || auto_stop.as_bool() == Some(false),
        "auto_stop_machines must be off, is {auto_stop}"
    );
    assert!(service["min_machines_running"].as_integer().unwrap_or(0) >= 1);

    // The ingester: no public service, a health check inside the machine.
    for services in ["services"] {
        if let Some(list) = fly.get(services).and_then(toml::Value::as_array) {
            for s in list {
                assert!(
                    !processes_of(s).contains(&"ingester".to_owned()),
                    "a service exposes the ingester: {s}"
                );
            }
        }
    }
    let checks = fly["checks"].as_table().expect("[checks]");
    let ingester_check = checks
        .values()
        .find(|c| processes_of(c) == vec!["ingester"])
        .expect("a check of the ingester group");
    assert_eq!(ingester_check["type"].as_str(), Some("http"));
    assert_eq!(ingester_check["path"].as_str(), Some("/readyz"));
    // The ingester's ops port is its default INGESTER_PORT.
    assert_eq!(ingester_check["port"].as_integer(), Some(8081));
    let web_check = checks
        .values()
        .find(|c| processes_of(c) == vec!["web"])
        .expect("a readiness check of the web group");
    assert_eq!(web_check["port"].as_integer(), Some(9090));

    // Graceful shutdown: SIGTERM, and time for the longer of the two.
    assert_eq!(fly["kill_signal"].as_str(), Some("SIGTERM"));
    let kill_timeout = fly_duration(&fly["kill_timeout"]);
    let web = serverpulse_web::shutdown_budget(&shared::config::HttpLimits::default());
    let ingester = serverpulse_ingester::SHUTDOWN_BUDGET;
    assert!(
        kill_timeout > web && kill_timeout > ingester,
        "kill_timeout {kill_timeout:?} must exceed the web's {web:?} and the ingester's {ingester:?}"
    );
    assert!(
        kill_timeout <= Duration::from_secs(300),
        "Fly caps kill_timeout at 300 s"
    );
}

/// `Key=value` lines of a unit (the last one wins, as in systemd, except
/// for keys that accumulate: those are all returned by [`values`]).
fn values<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
    unit.lines()
        .filter_map(|line| line.split_once('='))
        .filter(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim())
        .collect()
}

fn value<'a>(unit: &'a str, key: &str) -> &'a str {
    values(unit, key)
        .last()
        .copied()
        .unwrap_or_else(|| panic!("{key}= missing"))
}

fn systemd_seconds(text: &str) -> Duration {
    let number: u64 = text
        .trim_end_matches(|c: char| c.is_ascii_alphabetic())
        .parse()
        .unwrap_or_else(|_| panic!("{text:?}"));
    match text.trim_start_matches(|c: char| c.is_ascii_digit()) {
        "" | "s" => Duration::from_secs(number),
        "min" => Duration::from_secs(number * 60),
        other => panic!("unit {other:?}"),
    }
}

/// Keys newer than the installed systemd, which it ignores with a warning.
fn newer_than(version: u32) -> Vec<&'static str> {
    if version < 254 {
        vec!["RestartSteps", "RestartMaxDelaySec"]
    } else {
        Vec::new()
    }
}

#[test]
fn systemd_units_verify_and_carry_backoff_secrets_and_hardening() {
    let budgets = [
        (
            "web",
            serverpulse_web::shutdown_budget(&shared::config::HttpLimits::default()),
        ),
        ("ingester", serverpulse_ingester::SHUTDOWN_BUDGET),
    ];
    for (name, budget) in budgets {
        let unit = read(&format!("deploy/serverpulse-{name}.service"));
        assert_eq!(
            value(&unit, "ExecStart"),
            match name {
                "web" => "/usr/local/bin/serverpulse-web serve",
                _ => "/usr/local/bin/serverpulse-ingester run",
            }
        );
        assert_eq!(value(&unit, "Restart"), "on-failure");
        assert_eq!(value(&unit, "User"), "serverpulse");
        assert!(systemd_seconds(value(&unit, "RestartSec")) > Duration::ZERO);
        assert!(value(&unit, "RestartSteps").parse::<u32>().unwrap() > 0);
        assert!(
            systemd_seconds(value(&unit, "RestartMaxDelaySec"))
                > systemd_seconds(value(&unit, "RestartSec"))
        );
        assert_eq!(
            value(&unit, "EnvironmentFile"),
            "/etc/serverpulse/serverpulse.env"
        );
        assert_eq!(value(&unit, "KillSignal"), "SIGTERM");
        let stop = systemd_seconds(value(&unit, "TimeoutStopSec"));
        assert!(
            stop > budget,
            "{name}: TimeoutStopSec {stop:?} <= {budget:?}"
        );
        for (key, wanted) in [
            ("NoNewPrivileges", "yes"),
            ("ProtectSystem", "strict"),
            ("ProtectHome", "yes"),
            ("PrivateTmp", "yes"),
            ("CapabilityBoundingSet", ""),
        ] {
            assert_eq!(value(&unit, key), wanted, "{name}: {key}");
        }
    }

    let Ok(output) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("SKIPPED: systemd-analyze is not installed; the units were not verified");
        return;
    };
    let version: u32 = String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("systemd-analyze --version names the version");
    // `verify` checks that ExecStart= names an executable: the units are
    // verified as written, with only the binaries' directory pointed at
    // stand-ins.
    let dir = std::env::temp_dir().join(format!("serverpulse-units-{}", std::process::id()));
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let mut units = Vec::new();
    for name in ["web", "ingester"] {
        let stand_in = bin.join(format!("serverpulse-{name}"));
        std::fs::write(&stand_in, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(
            &stand_in,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let unit = read(&format!("deploy/serverpulse-{name}.service"))
            .replace("/usr/local/bin/", &format!("{}/", bin.display()));
        let path = dir.join(format!("serverpulse-{name}.service"));
        std::fs::write(&path, unit).unwrap();
        units.push(path);
    }
    let verified = Command::new("systemd-analyze")
        .arg("verify")
        .args(&units)
        .output()
        .expect("systemd-analyze runs");
    let stderr = String::from_utf8_lossy(&verified.stderr).into_owned();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(verified.status.success(), "{stderr}");
    let ignored = newer_than(version);
    let complaints: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .filter(|line| {
            !ignored.iter().any(|key| {
                line.contains(&format!("Unknown key '{key}'"))
                    || line.contains(&format!("Unknown key name '{key}'"))
            })
        })
        .collect();
    assert!(
        complaints.is_empty(),
        "systemd {version} complains about the units:\n{}",
        complaints.join("\n")
    );
}

#[test]
fn the_caddy_example_is_a_valid_configuration() {
    let caddyfile = repository().join("deploy/Caddyfile");
    let text = read("deploy/Caddyfile");
    assert!(text.contains("reverse_proxy 127.0.0.1:8080"), "{text}");
    assert!(
        text.contains("@public path /interactions /healthz /g/*"),
        "{text}"
    );
    let Ok(output) = Command::new("caddy")
        .args(["validate", "--adapter", "caddyfile", "--config"])
        .arg(&caddyfile)
        .output()
    else {
        eprintln!("SKIPPED: caddy is not installed; deploy/Caddyfile was not validated");
        return;
    };
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
