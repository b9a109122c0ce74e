//! All database access. Every query lives under this module, uses bind
//! parameters, and takes an executor so callers choose pool or transaction.

pub mod access;
pub mod ai_providers;
pub mod alerts;
pub mod analytics;
pub mod backfill;
/// The benchmarks' SQL; only with the `bench` feature.
#[cfg(feature = "bench")]
pub mod bench;
pub mod catalogue;
pub mod channel_daily;
pub mod daily;
pub mod dashboard;
pub mod data_version;
pub mod digest_settings;
pub mod digests;
pub mod gateway;
pub mod history;
pub mod ingest;
pub mod outbox;
pub mod privacy;
pub mod pulse;
pub mod pulse_jobs;
pub mod retention;
pub mod rollups;
pub mod settings;

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::config::DatabaseConfig;

/// The migrations in `migrations/`, embedded in every binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database could not be reached (down, restarting, pool exhausted):
    /// worth retrying, and worth telling a user "try again".
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error("database query failed: {0}")]
    Query(#[source] sqlx::Error),
    /// A stored value this build cannot read (e.g. a JSON column written
    /// by a newer version).
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
    #[error("migrating the database failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A notification sent at start-up never came back: the connection goes
    /// through a transaction-pooling proxy (or something else that drops
    /// LISTEN/NOTIFY); `url` is redacted.
    #[error(
        "PostgreSQL at {url} does not deliver LISTEN/NOTIFY (a notification sent at start did not arrive within {waited:?}): \
         is DATABASE_URL a transaction-pooling proxy (PgBouncer in transaction mode, a pooler port such as 6543)? \
         Settings changes would never reach the ingester and session advisory locks would not hold; \
         use a direct connection (or a session-mode pooler)"
    )]
    NoNotifications { url: String, waited: Duration },
    /// Start-up could not reach the server; `url` is redacted.
    #[error("cannot reach PostgreSQL at {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
}

impl DbError {
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Connect { .. })
    }
}

impl From<sqlx::Error> for DbError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => Self::Unavailable(error),
            sqlx::Error::Database(db) if db.code().is_some_and(|c| is_unavailable_sqlstate(&c)) => {
                Self::Unavailable(error)
            }
            _ => Self::Query(error),
        }
    }
}

/// SQLSTATE classes 08 (connection exception) and 57P (operator intervention:
/// shutdown, crash, cannot connect now), 57014 (a statement cancelled by
/// `statement_timeout`) and 55P03 (`lock_timeout`): the database is busy or
/// gone, and the same request may succeed in a minute.
fn is_unavailable_sqlstate(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("57P") || code == "57014" || code == "55P03"
}

/// The settings every connection starts with: `statement_timeout` and
/// `lock_timeout` as PostgreSQL reads them (milliseconds; 0 means none),
/// and `jit` off. PostgreSQL compiles a query whose estimated cost passes
/// `jit_above_cost` (100,000 by default) to machine code; a read over a
/// year of monthly partitions estimates millions and compiled about 550
/// functions with inlining and optimisation, which took seconds per
/// command on the benchmark's 20-million-message guild while the query
/// itself ran in milliseconds. Our statements are short and many, the
/// case JIT does not pay for.
fn session_options(statement: Duration, lock: Duration) -> [(&'static str, String); 3] {
    [
        ("statement_timeout", statement.as_millis().to_string()),
        ("lock_timeout", lock.as_millis().to_string()),
        ("jit", "off".to_owned()),
    ]
}

/// The URL's options; the connections call themselves `serverpulse` in
/// `pg_stat_activity` unless the URL names them (`?application_name=`), as
/// the benchmark does to tell its processes' backends apart.
fn connect_options(config: &DatabaseConfig) -> Result<PgConnectOptions, DbError> {
    let options = config
        .url
        .expose()
        .parse::<PgConnectOptions>()
        .map_err(DbError::Query)?;
    Ok(if options.get_application_name().is_some() {
        options
    } else {
        options.application_name("serverpulse")
    })
}

/// A one-connection pool without statement or lock timeout, connected
/// within the configured connect timeout; a failure names the server
/// without secrets.
async fn reach(config: &DatabaseConfig) -> Result<PgPool, DbError> {
    let options = connect_options(config)?.options(session_options(Duration::ZERO, Duration::ZERO));
    PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(config.connect_timeout)
        .connect_with(options)
        .await
        .map_err(|source| DbError::Connect {
            url: config.redacted_url(),
            source,
        })
}

/// The pool every query of a binary uses: each connection starts with the
/// configured `statement_timeout` and `lock_timeout`, and a checkout waits
/// at most the acquire timeout. Connections open on demand.
fn pool(config: &DatabaseConfig) -> Result<PgPool, DbError> {
    let limits = config.limits;
    let options = connect_options(config)?.options(session_options(
        limits.statement_timeout,
        limits.lock_timeout,
    ));
    Ok(PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(limits.acquire_timeout)
        .connect_lazy_with(options))
}

/// Checks the server answers (within the configured connect timeout, so a
/// binary exits with one line instead of hanging) and returns the pool.
pub async fn connect(config: &DatabaseConfig) -> Result<PgPool, DbError> {
    reach(config).await?.close().await;
    pool(config)
}

/// What both binaries do at start: reach the server (bounded by the
/// configured timeout), apply pending migrations, and return the pool.
/// Migrations run on a connection of their own without statement or lock
/// timeout: they may rewrite large tables, and they wait for the other
/// binary's migration (an advisory lock) however long it takes.
pub async fn open(config: &DatabaseConfig) -> Result<PgPool, DbError> {
    let migrations = reach(config).await?;
    let migrated = MIGRATOR.run(&migrations).await;
    let probed = match &migrated {
        Ok(()) => match reach(config).await {
            Ok(sender) => {
                let probed = check_notifications(&migrations, &sender, NOTIFY_PROBE_WAIT).await;
                sender.close().await;
                probed
            }
            Err(error) => Err(error),
        },
        Err(_) => Ok(()),
    };
    migrations.close().await;
    migrated?;
    probed.map_err(|error| match error {
        DbError::NoNotifications { waited, .. } => DbError::NoNotifications {
            url: config.redacted_url(),
            waited,
        },
        other => other,
    })?;
    pool(config)
}

/// How long start-up waits for its own notification.
pub const NOTIFY_PROBE_WAIT: Duration = Duration::from_secs(5);

/// Sends a notification from a connection of `notify_from` to a channel of
/// its own and waits up to `limit` for it on a connection of `listen_on`
/// (two connections: a proxy may route one client's statements through
/// the server connection that listens). Both binaries depend on LISTEN/NOTIFY
/// (settings reach the ingester, the outbox wakes the web), which a
/// transaction-pooling proxy silently drops: this turns that into an error
/// at start instead of settings that never apply.
pub async fn check_notifications(
    listen_on: &PgPool,
    notify_from: &PgPool,
    limit: Duration,
) -> Result<(), DbError> {
    let channel = format!("serverpulse_probe_{:016x}", rand_token());
    let mut listener = sqlx::postgres::PgListener::connect_with(listen_on).await?;
    listener.listen(&channel).await?;
    sqlx::query("select pg_notify($1, 'probe')")
        .bind(&channel)
        .execute(notify_from)
        .await?;
    let arrived = tokio::time::timeout(limit, listener.recv()).await;
    let _ = listener.unlisten(&channel).await;
    match arrived {
        Ok(Ok(notification)) if notification.channel() == channel => Ok(()),
        Ok(Ok(_)) | Err(_) => Err(DbError::NoNotifications {
            url: String::new(),
            waited: limit,
        }),
        Ok(Err(error)) => Err(error.into()),
    }
}

/// A channel-name suffix unique enough for concurrent starts.
fn rand_token() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

/// Applies pending migrations; a no-op when the schema is current.
pub async fn migrate(pool: &PgPool) -> Result<(), DbError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// Readiness: the database answers a trivial query within `timeout`.
pub async fn ping(pool: &PgPool, timeout: Duration) -> Result<(), DbError> {
    match tokio_timeout(timeout, sqlx::query("select 1").execute(pool)).await {
        Some(result) => result.map(|_| ()).map_err(DbError::from),
        None => Err(DbError::Unavailable(sqlx::Error::PoolTimedOut)),
    }
}

async fn tokio_timeout<F: std::future::Future>(limit: Duration, future: F) -> Option<F::Output> {
    tokio::time::timeout(limit, future).await.ok()
}

/// Creates (or empties and re-creates) the database `name` on the server of
/// `server_url` and returns its URL: the demo's own database. `name` must be
/// a plain identifier (letters, digits, underscores), since identifiers
/// cannot be bound as parameters.
pub async fn recreate_database(server_url: &str, name: &str) -> Result<String, DbError> {
    let mut conn = connect_server(server_url).await?;
    drop_database_on(&mut conn, name).await?;
    create_database_on(&mut conn, name).await?;
    let _ = sqlx::Connection::close(conn).await;
    database_url(server_url, name)
}

/// Drops a database made by [`recreate_database`].
pub async fn drop_database(server_url: &str, name: &str) -> Result<(), DbError> {
    let mut conn = connect_server(server_url).await?;
    drop_database_on(&mut conn, name).await
}

/// One connection to the server of `server_url` (for creating and dropping
/// databases).
pub(crate) async fn connect_server(server_url: &str) -> Result<sqlx::PgConnection, DbError> {
    let admin: PgConnectOptions = server_url.parse().map_err(DbError::Query)?;
    <sqlx::PgConnection as sqlx::Connection>::connect_with(&admin)
        .await
        .map_err(|source| DbError::Connect {
            url: crate::config::redact_url(server_url),
            source,
        })
}

/// The URL of database `name` on the server of `server_url`.
pub(crate) fn database_url(server_url: &str, name: &str) -> Result<String, DbError> {
    let mut url = url::Url::parse(server_url)
        .map_err(|e| DbError::Query(sqlx::Error::Configuration(e.into())))?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

/// Identifiers cannot be bound as parameters: only database names made of
/// letters, digits and underscores are put in SQL.
pub(crate) fn is_plain_identifier(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn assert_plain_identifier(name: &str) {
    assert!(
        is_plain_identifier(name),
        "database names are plain identifiers, got {name:?}"
    );
}

pub(crate) async fn create_database_on(
    conn: &mut sqlx::PgConnection,
    name: &str,
) -> Result<(), DbError> {
    assert_plain_identifier(name);
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
        .execute(conn)
        .await?;
    Ok(())
}

/// Drops `name` if it exists, ending its open connections.
pub(crate) async fn drop_database_on(
    conn: &mut sqlx::PgConnection,
    name: &str,
) -> Result<(), DbError> {
    assert_plain_identifier(name);
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop database if exists {name} with (force)"
    )))
    .execute(conn)
    .await?;
    Ok(())
}
