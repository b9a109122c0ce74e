//! What a piece of ingest costs the database, per event: the WAL it
//! writes, the rows it writes, and which server processes (backends) did
//! the work, so the benchmark can read their CPU time from `/proc`.
//!
//! The server is shared with whatever else runs on it, so the WAL is
//! counted twice: the whole cluster's (`pg_current_wal_lsn()` before and
//! after) and, where `pg_walinspect` is installed, only the records that
//! touch the benchmark's own database plus the commit records of those
//! transactions. A temporary replication slot (dropped with the session
//! that made it) keeps the WAL of the window on disk until it is read.

use sqlx::PgConnection;

use crate::db::DbError;

/// The current WAL insert position, as text (`pg_lsn`).
pub async fn wal_lsn(conn: &mut PgConnection) -> Result<String, DbError> {
    Ok(sqlx::query_scalar("select pg_current_wal_lsn()::text")
        .fetch_one(conn)
        .await?)
}

/// Bytes of WAL the whole cluster wrote between two positions.
pub async fn wal_bytes_between(
    conn: &mut PgConnection,
    start: &str,
    end: &str,
) -> Result<i64, DbError> {
    Ok(
        sqlx::query_scalar("select pg_wal_lsn_diff($2::pg_lsn, $1::pg_lsn)::bigint")
            .bind(start)
            .bind(end)
            .fetch_one(conn)
            .await?,
    )
}

/// Prepares this session to count the benchmark database's own WAL:
/// installs `pg_walinspect` in the current database and makes a temporary
/// physical replication slot (named `slot`) that reserves WAL from now on
/// until the session ends. `Ok(false)` when the server cannot (no
/// `pg_walinspect`, no free slot, or not allowed); the cluster-wide figure
/// is then the only one.
pub async fn reserve_wal(conn: &mut PgConnection, slot: &str) -> Result<bool, DbError> {
    let available: bool = sqlx::query_scalar(
        "select exists (select 1 from pg_available_extensions where name = 'pg_walinspect')",
    )
    .fetch_one(&mut *conn)
    .await?;
    if !available {
        return Ok(false);
    }
    if sqlx::query("create extension if not exists pg_walinspect")
        .execute(&mut *conn)
        .await
        .is_err()
    {
        return Ok(false);
    }
    let reserved = sqlx::query(
        "select pg_create_physical_replication_slot($1, immediately_reserve => true, temporary => true)",
    )
    .bind(slot)
    .execute(&mut *conn)
    .await;
    Ok(reserved.is_ok())
}

/// Bytes of the WAL records between two positions that touch a relation of
/// the current database, plus the commit and abort records of the
/// transactions that wrote them. Needs [`reserve_wal`] on this session
/// before `start`.
pub async fn database_wal_bytes_between(
    conn: &mut PgConnection,
    start: &str,
    end: &str,
) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar(
        "with r as (
             select xid, resource_manager, record_length,
                    coalesce(block_ref, '') like '%/' || (select oid from pg_database where datname = current_database())::text || '/%' as ours
             from pg_get_wal_records_info($1::pg_lsn, least($2::pg_lsn, pg_current_wal_flush_lsn()))),
         x as (select distinct xid from r where ours and xid <> '0'::xid)
         select coalesce(sum(record_length), 0)::bigint from r
         where ours or (resource_manager = 'Transaction' and xid in (select xid from x))",
    )
    .bind(start)
    .bind(end)
    .fetch_one(conn)
    .await?)
}

/// One relation's share of the database's WAL between two positions.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RelationWal {
    /// The table or index (`filenode N` when it no longer exists).
    pub relation: String,
    /// Bytes of the records whose first block is in this relation.
    pub bytes: i64,
    /// Of which full-page images (the first change to a page after a
    /// checkpoint writes the whole page).
    pub fpi_bytes: i64,
}

/// The records of [`database_wal_bytes_between`] that name a block of the
/// current database, by the relation of their first block, most first
/// (commit records name no block and are left out). Needs
/// [`reserve_wal`] on this session before `start`.
pub async fn database_wal_by_relation(
    conn: &mut PgConnection,
    start: &str,
    end: &str,
) -> Result<Vec<RelationWal>, DbError> {
    Ok(sqlx::query_as(
        "with r as (
             select record_length, fpi_length,
                    substring(block_ref from 'rel [0-9]+/' || (select oid from pg_database where datname = current_database())::text || '/([0-9]+)') as node
             from pg_get_wal_records_info($1::pg_lsn, least($2::pg_lsn, pg_current_wal_flush_lsn())))
         select coalesce(pg_filenode_relation(0, node::oid)::text, 'filenode ' || node) as relation,
                sum(record_length)::bigint as bytes, sum(fpi_length)::bigint as fpi_bytes
         from r where node is not null
         group by 1 order by 2 desc",
    )
    .bind(start)
    .bind(end)
    .fetch_all(conn)
    .await?)
}

/// Process ids of the server backends connected to the current database
/// under `application_name`.
pub async fn backend_pids(
    conn: &mut PgConnection,
    application_name: &str,
) -> Result<Vec<i32>, DbError> {
    Ok(sqlx::query_scalar(
        "select pid from pg_stat_activity
         where datname = current_database() and application_name = $1
         order by pid",
    )
    .bind(application_name)
    .fetch_all(conn)
    .await?)
}

/// Rows inserted, updated and deleted in the current database's tables so
/// far, by the cumulative statistics (`pg_stat_user_tables`). A backend
/// reports its counts when it goes idle (at most once a second) and when it
/// exits; read this after the writers have disconnected.
pub async fn rows_written(conn: &mut PgConnection) -> Result<(i64, i64, i64), DbError> {
    sqlx::query("select pg_stat_clear_snapshot()")
        .execute(&mut *conn)
        .await?;
    Ok(sqlx::query_as(
        "select coalesce(sum(n_tup_ins), 0)::bigint, coalesce(sum(n_tup_upd), 0)::bigint,
                coalesce(sum(n_tup_del), 0)::bigint
         from pg_stat_user_tables",
    )
    .fetch_one(conn)
    .await?)
}
