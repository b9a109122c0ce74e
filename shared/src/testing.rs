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
    admin: PgConnectOptions,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);
static SWEEP: Once = Once::new();

impl TestDatabase {
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
        // Identifiers cannot be bound; `name` is made of digits and
        // underscores only.
        sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
            .execute(&mut conn)
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
        let mut url = url::Url::parse(&server_url()).expect("DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        Self {
            name,
            url: url.to_string(),
            pool,
            admin,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop may run inside or outside a runtime; do the cleanup on a
        // thread of its own with a small runtime. The pool's connections
        // belong to the test's runtime (blocked here), so they are not
        // closed politely: `with (force)` ends them on the server side.
        let admin = self.admin.clone();
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(mut conn) = PgConnection::connect_with(&admin).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "drop database if exists {name} with (force)"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            });
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
        if !alive && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "drop database if exists {name} with (force)"
            )))
            .execute(&mut *conn)
            .await;
        }
    }
}
