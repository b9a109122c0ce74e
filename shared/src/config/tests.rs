use super::*;

const KEY: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

fn web(vars: &[(&str, &str)]) -> Result<WebConfig, ConfigError> {
    WebConfig::from_source(vars)
}

fn full_web() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "DATABASE_URL",
            "postgres://sp:hunter2@db.internal:5432/serverpulse",
        ),
        ("DISCORD_TOKEN", "very-secret-token"),
        ("DISCORD_APPLICATION_ID", "1234567890"),
        ("DISCORD_PUBLIC_KEY", KEY),
    ]
}

#[test]
fn web_defaults_apply() {
    let config = web(&full_web()).unwrap();
    assert_eq!(config.api_url, DEFAULT_DISCORD_API_URL);
    assert_eq!(config.listen.port(), 8080);
    assert_eq!(config.application_id, Snowflake(1_234_567_890));
    assert_eq!(config.public_key[0], 0x0f);
    assert_eq!(config.log_format, LogFormat::Text);
    assert_eq!(config.ops_listen.port(), 9090);
    assert_eq!(config.http, HttpLimits::default());
    assert_eq!(config.database.limits, DatabaseLimits::WEB);
    assert_eq!(
        config.retention,
        RetentionPolicy {
            max_days: 730,
            grace_days: 7
        }
    );
}

#[test]
fn retention_is_configurable_within_bounds() {
    let mut vars = full_web();
    vars.extend([("RETENTION_MAX_DAYS", "365"), ("RETENTION_GRACE_DAYS", "0")]);
    assert_eq!(
        web(&vars).unwrap().retention,
        RetentionPolicy {
            max_days: 365,
            grace_days: 0
        }
    );
    for (var, value) in [
        ("RETENTION_MAX_DAYS", "6"),
        ("RETENTION_MAX_DAYS", "forever"),
        ("RETENTION_GRACE_DAYS", "366"),
    ] {
        let mut vars = full_web();
        vars.push((var, value));
        match web(&vars).unwrap_err() {
            ConfigError::Invalid { var: named, .. } => assert_eq!(named, var),
            other => panic!("{var}={value}: {other:?}"),
        }
    }
}

#[test]
fn limits_and_ports_are_configurable() {
    let mut vars = full_web();
    vars.extend([
        ("OPS_PORT", "9999"),
        ("HTTP_HEADER_TIMEOUT_MS", "1500"),
        ("HTTP_REQUEST_TIMEOUT_MS", "4000"),
        ("HTTP_MAX_CONNECTIONS", "64"),
        ("DATABASE_ACQUIRE_TIMEOUT_MS", "700"),
        ("DATABASE_STATEMENT_TIMEOUT_MS", "0"),
        ("DATABASE_LOCK_TIMEOUT_MS", "250"),
    ]);
    let config = web(&vars).unwrap();
    assert_eq!(config.ops_listen.port(), 9999);
    assert_eq!(
        config.http,
        HttpLimits {
            header_read_timeout: Duration::from_millis(1500),
            request_timeout: Duration::from_secs(4),
            max_connections: 64,
        }
    );
    assert_eq!(
        config.database.limits,
        DatabaseLimits {
            acquire_timeout: Duration::from_millis(700),
            statement_timeout: Duration::ZERO,
            lock_timeout: Duration::from_millis(250),
        }
    );
    for (var, value) in [
        ("OPS_PORT", "8080"),
        ("HTTP_MAX_CONNECTIONS", "0"),
        ("HTTP_HEADER_TIMEOUT_MS", "0"),
        ("DATABASE_ACQUIRE_TIMEOUT_MS", "0"),
        ("DATABASE_LOCK_TIMEOUT_MS", "soon"),
    ] {
        let mut vars = full_web();
        vars.push((var, value));
        match web(&vars).unwrap_err() {
            ConfigError::Invalid { var: named, .. } => assert_eq!(named, var),
            other => panic!("{var}={value}: {other:?}"),
        }
    }
    let ingester = IngesterConfig::from_source(
        [
            ("DATABASE_URL", "postgres://localhost/x"),
            ("DISCORD_TOKEN", "t"),
        ]
        .as_slice(),
    )
    .unwrap();
    assert_eq!(ingester.database.limits, DatabaseLimits::INGESTER);
}

#[test]
fn each_missing_variable_is_named() {
    for var in [
        "DATABASE_URL",
        "DISCORD_TOKEN",
        "DISCORD_APPLICATION_ID",
        "DISCORD_PUBLIC_KEY",
    ] {
        let vars: Vec<_> = full_web().into_iter().filter(|(k, _)| *k != var).collect();
        let err = web(&vars).unwrap_err();
        assert_eq!(err, ConfigError::Missing(var));
        assert!(err.to_string().starts_with(var), "{err}");
    }
}

#[test]
fn invalid_values_are_named_with_the_reason() {
    let cases = [
        ("DISCORD_PUBLIC_KEY", "abc"),
        ("DISCORD_PUBLIC_KEY", &"zz".repeat(32)),
        ("DISCORD_APPLICATION_ID", "my-app"),
        ("PORT", "80000"),
        ("DATABASE_URL", "mysql://localhost/x"),
        ("DISCORD_API_URL", "not a url"),
        ("LOG_FORMAT", "xml"),
    ];
    for (var, value) in cases {
        let mut vars = full_web();
        vars.retain(|(k, _)| *k != var);
        vars.push((var, value));
        match web(&vars).unwrap_err() {
            ConfigError::Invalid { var: named, .. } => assert_eq!(named, var),
            other => panic!("{var}={value}: {other:?}"),
        }
    }
}

#[test]
fn secrets_never_print() {
    let config = web(&full_web()).unwrap();
    let shown = format!("{config:?}");
    assert!(!shown.contains("very-secret-token"), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert_eq!(
        config.database.redacted_url(),
        "db.internal:5432/serverpulse"
    );
}

#[test]
fn database_target_shows_only_host_port_and_name() {
    for (url, shown) in [
        (
            "postgres://sp:hunter2@db.internal:5432/serverpulse",
            "db.internal:5432/serverpulse",
        ),
        (
            "postgres://sp@db.internal/serverpulse?password=hunter2",
            "db.internal:5432/serverpulse",
        ),
        ("postgres://u:pw@h/db?sslpassword=x", "h:5432/db"),
        (
            "postgresql://[::1]:6543/stats?sslmode=require",
            "[::1]:6543/stats",
        ),
    ] {
        let target = redact_url(url);
        assert_eq!(target, shown, "{url}");
        for secret in ["hunter2", "pw", "=x", "sp", "sslmode"] {
            assert!(!target.contains(secret), "{url}: {target}");
        }
    }
    assert_eq!(redact_url("not a url at all"), "[unparsable URL]");
}

#[test]
fn a_public_key_with_multibyte_characters_is_refused() {
    // 64 bytes, but no 2-byte window is a character boundary after the first.
    let key = format!("a{}", "\u{20ac}".repeat(21));
    assert_eq!(key.len(), 64);
    let mut vars = full_web();
    vars.retain(|(k, _)| *k != "DISCORD_PUBLIC_KEY");
    vars.push(("DISCORD_PUBLIC_KEY", &key));
    let err = web(&vars).unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Invalid {
                var: "DISCORD_PUBLIC_KEY",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.to_string().lines().count(), 1);
}

#[test]
fn ingester_shard_ranges() {
    let base = [
        ("DATABASE_URL", "postgres://localhost/x"),
        ("DISCORD_TOKEN", "t"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut vars = base.to_vec();
        vars.extend_from_slice(extra);
        IngesterConfig::from_source(vars.as_slice())
    };
    let all = with(&[]).unwrap();
    assert_eq!((all.shards, all.shard_total), (0..=0, 1));
    let some = with(&[("SHARDS", "0-3"), ("SHARD_TOTAL", "8")]).unwrap();
    assert_eq!((some.shards, some.shard_total), (0..=3, 8));
    let one = with(&[("SHARDS", "5"), ("SHARD_TOTAL", "8")]).unwrap();
    assert_eq!(one.shards, 5..=5);
    for bad in ["4-2", "0-8", "x", "1-"] {
        let err = with(&[("SHARDS", bad), ("SHARD_TOTAL", "8")]).unwrap_err();
        assert!(
            matches!(err, ConfigError::Invalid { var: "SHARDS", .. }),
            "{bad}: {err}"
        );
    }
    assert!(matches!(
        with(&[("SHARD_TOTAL", "0")]).unwrap_err(),
        ConfigError::Invalid {
            var: "SHARD_TOTAL",
            ..
        }
    ));
    assert!(matches!(
        with(&[("DISCORD_GATEWAY_URL", "http://x")]).unwrap_err(),
        ConfigError::Invalid {
            var: "DISCORD_GATEWAY_URL",
            ..
        }
    ));
}
