//! Test support: a fresh, migrated database per test.
//!
//! Tests talk to a real PostgreSQL: `DATABASE_URL` when set, else the local
//! server at `postgres://postgres@127.0.0.1:5432/postgres`. Each
//! [`TestDatabase`] is a new database named `sp_test_<pid>_<n>_<nanos>`,
//! dropped again when the value is dropped; databases left behind by a
//! killed run are dropped by the next run's first [`TestDatabase::create`].

use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

use crate::config::DEFAULT_LOCAL_DATABASE_URL;

/// The server tests use (an admin connection string).
pub fn server_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_LOCAL_DATABASE_URL.to_owned())
}

/// A database of its own for one test.
pub struct TestDatabase {
    pub name: String,
    /// Connection string of this database (for binaries under test).
    pub url: String,
    pub pool: PgPool,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);
static SWEEP: Once = Once::new();

impl TestDatabase {
    /// Moves a tracked guild's `tracking_since` (a scenario that starts
    /// later than the moment tracking was enabled is tracked from its own
    /// start, as its ground truth assumes).
    pub async fn set_tracking_since(
        &self,
        guild_id: crate::Snowflake,
        since: chrono::DateTime<chrono::Utc>,
    ) {
        sqlx::query("update guild_settings set tracking_since = $2 where guild_id = $1")
            .bind(guild_id)
            .bind(since)
            .execute(&self.pool)
            .await
            .expect("set tracking_since");
    }

    /// Creates and migrates a fresh database.
    pub async fn create() -> Self {
        let db = Self::create_empty().await;
        crate::db::migrate(&db.pool)
            .await
            .expect("migrations apply to a fresh database");
        db
    }

    /// Creates a fresh database without running migrations.
    pub async fn create_empty() -> Self {
        let admin: PgConnectOptions = server_url()
            .parse()
            .expect("DATABASE_URL is a PostgreSQL URL");
        let mut conn = PgConnection::connect_with(&admin).await.unwrap_or_else(|e| {
            panic!(
                "tests need a PostgreSQL at {} ({e}); start one or run the README's test command",
                crate::config::redact_url(&server_url())
            )
        });
        let first = !SWEEP.is_completed();
        SWEEP.call_once(|| {});
        if first {
            sweep_stale(&mut conn).await;
        }
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        let name = format!(
            "sp_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            nanos
        );
        crate::db::create_database_on(&mut conn, &name)
            .await
            .expect("create test database");
        let _ = conn.close().await;
        let options = admin.clone().database(&name);
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .expect("connect to the test database");
        let url = crate::db::database_url(&server_url(), &name).expect("DATABASE_URL is a URL");
        Self { name, url, pool }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop may run inside or outside a runtime; do the cleanup on a
        // thread of its own with a small runtime. The pool's connections
        // belong to the test's runtime (blocked here), so they are not
        // closed politely: `with (force)` ends them on the server side.
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            let _ = runtime.block_on(crate::db::drop_database(&server_url(), &name));
        })
        .join();
    }
}

/// Drops test databases of processes that no longer run.
async fn sweep_stale(conn: &mut PgConnection) {
    let names: Vec<(String,)> =
        sqlx::query_as("select datname from pg_database where datname like 'sp\\_test\\_%'")
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_default();
    for (name,) in names {
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
        if !alive && crate::db::is_plain_identifier(&name) {
            let _ = crate::db::drop_database_on(conn, &name).await;
        }
    }
}

/// A GET over plain HTTP/1.0 with std only (for probing binaries under
/// test): the status code and body, or `None` when nothing answers.
pub fn http_get(addr: std::net::SocketAddr, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

/// A free TCP port on 127.0.0.1 (for a child process that must be told its
/// port up front).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port")
}

/// A binary under test, with its stderr captured.
pub struct ChildProcess {
    pub child: std::process::Child,
}

impl ChildProcess {
    /// Starts `path` with exactly `env` (plus PATH), stdout discarded and
    /// stderr piped.
    pub fn spawn(path: &str, args: &[&str], env: &[(&str, String)]) -> Self {
        let mut command = std::process::Command::new(path);
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        Self {
            child: command
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {path}: {e}")),
        }
    }

    /// Polls `GET path` until it answers 200 or `limit` passes.
    pub fn wait_for_ok(&mut self, addr: std::net::SocketAddr, path: &str, limit: Duration) -> bool {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if matches!(http_get(addr, path), Some((200, _))) {
                return true;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("exited early with {status}: {}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Sends a signal by name (`TERM`, `INT`, `KILL`).
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits up to `limit` for the process to exit; kills it and panics
    /// when it does not.
    pub fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for child") {
                return status;
            }
            if std::time::Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!("did not exit within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything the process wrote to stderr (call after it exited).
    pub fn stderr(&mut self) -> String {
        use std::io::Read;
        let mut text = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The start-up contract both binaries keep, checked end to end:
/// with `env` (which must not contain `DATABASE_URL` or the port variable)
/// plus a fresh database it starts, migrates, answers `/healthz`, `/readyz`
/// and `/metrics`, and exits 0 on SIGTERM and on SIGINT; each variable in
/// `required` missing, or an unreachable database, makes it exit non-zero
/// with one line on stderr naming the problem.
pub async fn check_binary_lifecycle(
    path: &str,
    run_args: &[&str],
    port_var: &str,
    env: &[(&str, String)],
    required: &[&str],
) {
    let db = TestDatabase::create_empty().await;
    for signal in ["TERM", "INT"] {
        let port = free_port();
        let mut vars = env.to_vec();
        vars.push(("DATABASE_URL", db.url.clone()));
        vars.push((port_var, port.to_string()));
        let mut process = ChildProcess::spawn(path, run_args, &vars);
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        assert!(
            process.wait_for_ok(addr, "/healthz", Duration::from_secs(30)),
            "{path} never became healthy"
        );
        assert_eq!(http_get(addr, "/readyz").map(|r| r.0), Some(200));
        let (status, body) = http_get(addr, "/metrics").expect("metrics answer");
        assert_eq!(status, 200);
        assert!(body.contains("serverpulse_build_info{"), "{body}");
        let migrated: i64 =
            sqlx::query_scalar("select count(*) from _sqlx_migrations where success")
                .fetch_one(&db.pool)
                .await
                .expect("the binary migrated the database");
        assert_eq!(migrated as usize, crate::db::MIGRATOR.iter().count());
        process.signal(signal);
        let status = process.wait_exit(Duration::from_secs(15));
        assert!(
            status.success(),
            "SIG{signal}: exit {status}: {}",
            process.stderr()
        );
    }

    for missing in required {
        let mut vars: Vec<_> = env.iter().filter(|(k, _)| k != missing).cloned().collect();
        if *missing != "DATABASE_URL" {
            vars.push(("DATABASE_URL", db.url.clone()));
        }
        vars.push((port_var, free_port().to_string()));
        let mut process = ChildProcess::spawn(path, run_args, &vars);
        let status = process.wait_exit(Duration::from_secs(15));
        let stderr = process.stderr();
        assert!(!status.success(), "{missing} missing yet exit 0");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(missing), "names {missing}: {stderr}");
    }

    let mut vars = env.to_vec();
    vars.push((
        "DATABASE_URL",
        "postgres://postgres:s3cret@127.0.0.1:1/nowhere".to_owned(),
    ));
    vars.push(("DATABASE_CONNECT_TIMEOUT_SECS", "2".to_owned()));
    vars.push((port_var, free_port().to_string()));
    let mut process = ChildProcess::spawn(path, run_args, &vars);
    let status = process.wait_exit(Duration::from_secs(20));
    let stderr = process.stderr();
    assert!(!status.success(), "unreachable database yet exit 0");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains("cannot reach PostgreSQL at 127.0.0.1:1/nowhere"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret"), "password leaked: {stderr}");

    // `migrate` needs only the database.
    let mut process = ChildProcess::spawn(path, &["migrate"], &[("DATABASE_URL", db.url.clone())]);
    let status = process.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "migrate: {}", process.stderr());
}

/// Whether a database of that name exists on the test server.
pub async fn database_exists(name: &str) -> bool {
    let admin: PgConnectOptions = server_url()
        .parse()
        .expect("DATABASE_URL is a PostgreSQL URL");
    let mut conn = PgConnection::connect_with(&admin)
        .await
        .expect("connect to the test server");
    sqlx::query_scalar::<_, bool>("select exists (select 1 from pg_database where datname = $1)")
        .bind(name)
        .fetch_one(&mut conn)
        .await
        .expect("query pg_database")
}

/// Every table that holds rows of one guild, for tests that count them
/// (the retention job's checks: what it removed and what it kept).
pub const GUILD_TABLES: [&str; 42] = [
    "message_rollup",
    "reaction_rollup",
    "voice_rollup",
    "voice_peak_rollup",
    "deletion_rollup",
    "guild_hourly",
    "member_daily",
    "message_daily",
    "reaction_daily",
    "voice_daily",
    "member_totals",
    "active_daily",
    "member_index",
    "member_index_next",
    "membership_spans",
    "members",
    "channels",
    "voice_sessions",
    "coverage_gaps",
    "guild_collected_channels",
    "settings_audit",
    "guild_settings",
    "guild_retention",
    "guilds",
    "digest_runs",
    "outbox",
    "alert_settings",
    "alert_incidents",
    "alert_windows",
    "pulse_reports",
    "pulse_report_jobs",
    "ai_providers",
    "member_privacy",
    "member_opt_outs",
    "guild_access",
    "access_log",
    "dashboard_generations",
    "dashboard_sessions",
    "guild_data_versions",
    "backfill_jobs",
    "backfill_channels",
    "pre_tracking_reactions",
];

/// Rows of `guild` in each table of [`GUILD_TABLES`] (test support only:
/// the table name comes from that fixed list).
pub async fn guild_row_counts(
    pool: &PgPool,
    guild: crate::Snowflake,
) -> std::collections::BTreeMap<&'static str, i64> {
    let mut counts = std::collections::BTreeMap::new();
    for table in GUILD_TABLES {
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select count(*) from {table} where guild_id = $1"
        )))
        .bind(guild)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("counting {table}: {e}"));
        counts.insert(table, count);
    }
    counts
}

/// Whether a table (e.g. a month partition) exists in the current schema.
pub async fn table_exists(pool: &PgPool, name: &str) -> bool {
    sqlx::query_scalar::<_, bool>("select to_regclass($1) is not null")
        .bind(name)
        .fetch_one(pool)
        .await
        .expect("look up a table")
}

/// Statements of other sessions that wait for a lock and start with
/// `prefix` (case-insensitive), e.g. a partition detach waiting for an
/// open flush.
pub async fn statements_waiting_for_locks(pool: &PgPool, prefix: &str) -> i64 {
    sqlx::query_scalar(
        "select count(*) from pg_stat_activity
         where datname = current_database() and wait_event_type = 'Lock'
           and lower(query) like lower($1) || '%'",
    )
    .bind(prefix)
    .fetch_one(pool)
    .await
    .expect("read pg_stat_activity")
}

/// Every `table.column` of a table with a `guild_id` column that holds
/// `user` in a row of `guild`: bigint and bigint[] columns equal to the id,
/// text and json columns containing it. Read from information_schema, so a
/// table added later is checked too (the `/privacy delete` tests).
pub async fn columns_holding_user(
    pool: &PgPool,
    guild: crate::Snowflake,
    user: crate::Snowflake,
) -> Vec<String> {
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "select c.table_name::text, c.column_name::text, c.data_type::text
         from information_schema.columns c
         join information_schema.tables t
           on t.table_schema = c.table_schema and t.table_name = c.table_name
         where c.table_schema = current_schema() and t.table_type = 'BASE TABLE'
           and c.column_name <> 'guild_id'
           and c.data_type in ('bigint', 'ARRAY', 'text', 'jsonb', 'json')
           and exists (select 1 from information_schema.columns g
                       where g.table_schema = c.table_schema and g.table_name = c.table_name
                         and g.column_name = 'guild_id')
           -- partitions are read through their parent
           and not exists (select 1 from pg_inherits i
                           join pg_class k on k.oid = i.inhrelid
                           where k.relname = c.table_name)
         order by 1, 2",
    )
    .fetch_all(pool)
    .await
    .expect("list the columns");
    assert!(
        columns.len() > 20,
        "the listing found the schema's columns: {columns:?}"
    );
    let mut holding = Vec::new();
    for (table, column, data_type) in columns {
        let test = match data_type.as_str() {
            "bigint" => format!("{column} = $2"),
            _ => format!("strpos({column}::text, $3) > 0"),
        };
        let sql = format!(
            "select exists (select 1 from {table} where guild_id = $1 and {test} and $2::bigint is not null and $3::text is not null)"
        );
        let found: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(guild)
            .bind(user)
            .bind(user.to_string())
            .fetch_one(pool)
            .await
            .unwrap_or_else(|e| panic!("check {table}.{column}: {e}"));
        if found {
            holding.push(format!("{table}.{column}"));
        }
    }
    holding
}
