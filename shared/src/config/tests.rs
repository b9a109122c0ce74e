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
    let fixed = |shards, total, max_concurrency| ShardPlan::Fixed {
        shards,
        total,
        max_concurrency,
    };
    assert_eq!(with(&[]).unwrap().shard_plan, ShardPlan::Recommended);
    let all = with(&[("SHARD_TOTAL", "2")]).unwrap();
    assert_eq!(all.shard_plan, fixed(0..=1, 2, 1));
    let some = with(&[("SHARDS", "0-3"), ("SHARD_TOTAL", "8")]).unwrap();
    assert_eq!(some.shard_plan, fixed(0..=3, 8, 1));
    let one = with(&[
        ("SHARDS", "5"),
        ("SHARD_TOTAL", "8"),
        ("SHARD_MAX_CONCURRENCY", "16"),
    ])
    .unwrap();
    assert_eq!(one.shard_plan, fixed(5..=5, 8, 16));
    assert!(matches!(
        with(&[("SHARDS", "0-1")]).unwrap_err(),
        ConfigError::Invalid { var: "SHARDS", .. }
    ));
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

#[test]
fn ai_providers_default_to_their_public_endpoints_without_ollama_or_a_master_key() {
    let config = web(&full_web()).unwrap();
    assert_eq!(config.ai, AiConfig::default());
    assert_eq!(
        config.ai.base_url(ProviderKind::OpenAi),
        Some("https://api.openai.com/v1")
    );
    assert_eq!(
        config.ai.base_url(ProviderKind::Gemini),
        Some("https://generativelanguage.googleapis.com/v1beta")
    );
    assert_eq!(config.ai.base_url(ProviderKind::Ollama), None);
    assert_eq!(config.ai.default_provider, None);
    assert_eq!(config.ai.master_key, None);
    assert_eq!(config.ai.connect_timeout, Duration::from_secs(5));
    assert_eq!(config.ai.request_timeout, Duration::from_secs(60));
}

#[test]
fn ai_base_urls_default_provider_and_master_key_are_configurable() {
    let hex_key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    let mut vars = full_web();
    vars.extend([
        ("OPENAI_BASE_URL", "http://127.0.0.1:9000/v1/"),
        ("OLLAMA_BASE_URL", "http://ollama.internal:11434/v1"),
        ("ANTHROPIC_BASE_URL", "http://127.0.0.1:9001/v1"),
        ("PULSE_DEFAULT_PROVIDER", "Anthropic"),
        ("PULSE_DEFAULT_API_KEY", "sk-operator-secret"),
        ("SERVERPULSE_MASTER_KEY", hex_key),
        ("AI_REQUEST_TIMEOUT_MS", "1500"),
    ]);
    let config = web(&vars).unwrap();
    assert_eq!(
        config.ai.base_url(ProviderKind::OpenAi),
        Some("http://127.0.0.1:9000/v1")
    );
    assert_eq!(
        config.ai.base_url(ProviderKind::Ollama),
        Some("http://ollama.internal:11434/v1")
    );
    let default = config.ai.default_provider.clone().unwrap();
    assert_eq!(default.kind, ProviderKind::Anthropic);
    assert_eq!(default.model, "claude-3-5-haiku-latest");
    assert_eq!(default.key.as_ref().unwrap().expose(), "sk-operator-secret");
    assert_eq!(config.ai.master_key.as_ref().unwrap().expose()[1], 0x11);
    assert_eq!(config.ai.request_timeout, Duration::from_millis(1500));
    // Neither key shows in the configuration's Debug.
    let debug = format!("{config:?}");
    assert!(!debug.contains("sk-operator-secret"), "{debug}");
    assert!(!debug.contains(hex_key), "{debug}");
    assert!(!debug.contains("[0, 17, 34"), "{debug}");
}

#[test]
fn the_master_key_is_32_bytes_of_hex_or_base64() {
    let bytes: [u8; 32] = std::array::from_fn(|i| i as u8 * 7);
    let hex_text = hex::encode(bytes);
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    let b64_url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    for text in [&hex_text, &b64, &b64_url] {
        assert_eq!(MasterKey::parse(text).unwrap().expose(), &bytes, "{text}");
    }
    let short = base64::engine::general_purpose::STANDARD.encode([1u8; 16]);
    for bad in [short.as_str(), "not a key", &hex_text[..62]] {
        let mut vars = full_web();
        vars.push(("SERVERPULSE_MASTER_KEY", bad));
        let error = web(&vars).unwrap_err();
        assert!(
            matches!(
                error,
                ConfigError::Invalid {
                    var: "SERVERPULSE_MASTER_KEY",
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(!error.to_string().contains(bad), "{error}");
    }
}

#[test]
fn a_default_provider_must_be_known_available_and_keyed() {
    let cases: [(&[(&str, &str)], &str); 3] = [
        (
            &[("PULSE_DEFAULT_PROVIDER", "skynet")],
            "PULSE_DEFAULT_PROVIDER",
        ),
        (
            &[("PULSE_DEFAULT_PROVIDER", "ollama")],
            "PULSE_DEFAULT_PROVIDER",
        ),
        (
            &[("PULSE_DEFAULT_PROVIDER", "openai")],
            "PULSE_DEFAULT_API_KEY",
        ),
    ];
    for (extra, var) in cases {
        let mut vars = full_web();
        vars.extend_from_slice(extra);
        let error = web(&vars).unwrap_err();
        assert!(error.to_string().starts_with(var), "{error}");
    }
    // A local Ollama needs no key.
    let mut vars = full_web();
    vars.extend([
        ("PULSE_DEFAULT_PROVIDER", "ollama"),
        ("OLLAMA_BASE_URL", "http://127.0.0.1:11434/v1"),
        ("PULSE_DEFAULT_MODEL", "qwen2.5"),
    ]);
    let default = web(&vars).unwrap().ai.default_provider.unwrap();
    assert_eq!(
        (default.kind, default.model.as_str()),
        (ProviderKind::Ollama, "qwen2.5")
    );
    assert_eq!(default.key, None);
}

#[test]
fn the_dashboard_needs_a_public_url_and_a_long_secret() {
    let config = web(&full_web()).unwrap();
    assert_eq!(config.dashboard, DashboardConfig::default());
    let mut vars = full_web();
    let secret = "x".repeat(DASHBOARD_SECRET_MIN_LEN);
    vars.extend([
        ("PUBLIC_URL", "https://pulse.example.org/"),
        ("DASHBOARD_SECRET", secret.as_str()),
    ]);
    let config = web(&vars).unwrap();
    assert_eq!(
        config.dashboard.public_url.as_deref(),
        Some("https://pulse.example.org")
    );
    assert_eq!(config.dashboard.secret.as_ref().unwrap().expose(), secret);
    assert!(
        !format!("{config:?}").contains(&secret),
        "the secret is never printed"
    );
    for (var, value) in [
        ("PUBLIC_URL", "pulse.example.org"),
        ("PUBLIC_URL", "ftp://pulse.example.org"),
        ("DASHBOARD_SECRET", "too-short"),
    ] {
        let mut vars = full_web();
        vars.push((var, value));
        match web(&vars).unwrap_err() {
            ConfigError::Invalid { var: named, .. } => assert_eq!(named, var),
            other => panic!("{other:?}"),
        }
    }
}
