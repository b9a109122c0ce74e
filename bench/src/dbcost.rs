//! What an ingest path costs PostgreSQL per event, in figures that do not
//! depend on how busy the machine is: WAL bytes, CPU time of the server
//! processes that served the path, and rows written.
//!
//! Each path connects under an `application_name` of its own, which tells
//! its server processes (backends) apart from the benchmark's and from
//! other databases' in `pg_stat_activity`; their CPU time is read from
//! `/proc/<pid>/schedstat` (the server runs on this machine). Background
//! processes (WAL writer, checkpointer, autovacuum) are not counted.

use std::collections::HashMap;

use anyhow::Context as _;
use serde_json::{Value, json};
use sqlx::{Connection as _, PgConnection};

use crate::workload;

/// The application names the measured paths connect under.
pub const APP_INGESTER: &str = "serverpulse-bench-ingester";
pub const APP_NAIVE: &str = "serverpulse-bench-naive";
pub const APP_BASELINE: &str = "serverpulse-bench-baseline";

/// `url` with `application_name` set to `name`.
pub fn url_as(url: &str, name: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}application_name={name}")
}

/// A connection of its own, holding the WAL reservation for the run.
pub struct Meter {
    conn: PgConnection,
    /// Whether the database's own WAL can be counted (`pg_walinspect`).
    database_wal: bool,
}

/// The state at the start of a measured window.
pub struct Mark {
    lsn: String,
    rows: (i64, i64, i64),
    /// CPU seconds so far of the path's backends that already exist.
    cpu: HashMap<i32, f64>,
}

/// The state when the path's work is done (its connections still open).
pub struct Done {
    lsn: String,
    postgres_cpu_secs: f64,
    backends: usize,
}

async fn backend_cpu(conn: &mut PgConnection, app: &str) -> anyhow::Result<HashMap<i32, f64>> {
    let pids = shared::db::bench::backend_pids(conn, app).await?;
    Ok(pids
        .into_iter()
        .filter_map(|pid| workload::task_cpu_secs(pid as u32).map(|cpu| (pid, cpu)))
        .collect())
}

impl Meter {
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let mut conn = PgConnection::connect(&url_as(url, "serverpulse-bench-meter"))
            .await
            .context("the meter's connection")?;
        let slot = format!("serverpulse_bench_{}", std::process::id());
        let database_wal = shared::db::bench::reserve_wal(&mut conn, &slot).await?;
        Ok(Self { conn, database_wal })
    }

    /// Rows written so far and the WAL position; the CPU of `app`'s
    /// backends so far. Take it when no writer of the path is running yet
    /// or, for CPU and WAL, at the first event.
    pub async fn mark(&mut self, app: &str) -> anyhow::Result<Mark> {
        Ok(Mark {
            rows: shared::db::bench::rows_written(&mut self.conn).await?,
            lsn: shared::db::bench::wal_lsn(&mut self.conn).await?,
            cpu: backend_cpu(&mut self.conn, app).await?,
        })
    }

    /// Moves the CPU and WAL start of `mark` to now (the first event),
    /// keeping its rows.
    pub async fn restart(&mut self, app: &str, mark: &mut Mark) -> anyhow::Result<()> {
        mark.lsn = shared::db::bench::wal_lsn(&mut self.conn).await?;
        mark.cpu = backend_cpu(&mut self.conn, app).await?;
        Ok(())
    }

    /// When the path's last event is committed, before it disconnects.
    pub async fn done(&mut self, app: &str, mark: &Mark) -> anyhow::Result<Done> {
        let lsn = shared::db::bench::wal_lsn(&mut self.conn).await?;
        let now = backend_cpu(&mut self.conn, app).await?;
        let postgres_cpu_secs = now
            .iter()
            .map(|(pid, cpu)| cpu - mark.cpu.get(pid).copied().unwrap_or(0.0))
            .sum();
        Ok(Done {
            lsn,
            postgres_cpu_secs,
            backends: now.len(),
        })
    }

    /// The per-event figures of the window from `mark` to `done` for
    /// `events` events. Call it once the path has disconnected: it waits
    /// (up to 10 s) for the path's backends to exit, since a backend
    /// reports its row counts when it exits.
    pub async fn figures(
        &mut self,
        app: &str,
        mark: &Mark,
        done: &Done,
        events: u64,
    ) -> anyhow::Result<Value> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !shared::db::bench::backend_pids(&mut self.conn, app)
            .await?
            .is_empty()
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let rows = shared::db::bench::rows_written(&mut self.conn).await?;
        let (inserted, updated, deleted) = (
            rows.0 - mark.rows.0,
            rows.1 - mark.rows.1,
            rows.2 - mark.rows.2,
        );
        let cluster_wal =
            shared::db::bench::wal_bytes_between(&mut self.conn, &mark.lsn, &done.lsn).await?;
        let database_wal = if self.database_wal {
            Some(
                shared::db::bench::database_wal_bytes_between(&mut self.conn, &mark.lsn, &done.lsn)
                    .await?,
            )
        } else {
            None
        };
        // Where the database's WAL went: the relations that wrote most,
        // and the full-page images' share.
        let by_relation = if self.database_wal {
            shared::db::bench::database_wal_by_relation(&mut self.conn, &mark.lsn, &done.lsn)
                .await?
        } else {
            Vec::new()
        };
        let fpi_bytes: i64 = by_relation.iter().map(|r| r.fpi_bytes).sum();
        let top_relations: Vec<Value> = by_relation
            .iter()
            .take(12)
            .map(|r| json!({"relation": r.relation, "bytes": r.bytes, "fpi_bytes": r.fpi_bytes}))
            .collect();
        let per = |v: f64| {
            if events > 0 {
                json!(v / events as f64)
            } else {
                Value::Null
            }
        };
        let wal = database_wal.unwrap_or(cluster_wal);
        Ok(json!({
            "events": events,
            "wal_bytes_cluster": cluster_wal,
            "wal_bytes_database": database_wal,
            "wal_bytes_per_event": per(wal as f64),
            "wal_source": if database_wal.is_some() {
                "WAL records of the benchmark's database and the commits of their transactions (pg_walinspect), between pg_current_wal_lsn() at the first event and after the last"
            } else {
                "pg_wal_lsn_diff of pg_current_wal_lsn() at the first event and after the last: the whole cluster, neighbours included"
            },
            "wal_fpi_bytes_per_event": if self.database_wal { per(fpi_bytes as f64) } else { Value::Null },
            "wal_by_relation": top_relations,
            "postgres_cpu_secs": done.postgres_cpu_secs,
            "postgres_cpu_us_per_event": per(done.postgres_cpu_secs * 1e6),
            "postgres_backends": done.backends,
            "postgres_cpu_source": format!("CPU time of the backends with application_name {app} (/proc/<pid>/schedstat)"),
            "rows_inserted": inserted,
            "rows_updated": updated,
            "rows_deleted": deleted,
            "rows_written_per_event": per((inserted + updated + deleted) as f64),
        }))
    }
}
