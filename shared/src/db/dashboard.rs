//! The web dashboard's access: its signing key, each guild's link
//! generation, sessions (by the SHA-256 of their id) and used links.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use super::DbError;
use crate::ids::Snowflake;

/// The stored signing key, inserting `generated` if there is none yet.
/// Replicas racing on the first start all get the one that won.
pub async fn signing_key<'e>(
    executor: impl PgExecutor<'e>,
    generated: &[u8; 32],
) -> Result<Vec<u8>, DbError> {
    Ok(sqlx::query_scalar(
        "with inserted as (
             insert into dashboard_signing_key (singleton, signing_key) values (true, $1)
             on conflict (singleton) do nothing
             returning signing_key
         )
         select signing_key from inserted
         union all
         select signing_key from dashboard_signing_key where singleton
         limit 1",
    )
    .bind(generated.as_slice())
    .fetch_one(executor)
    .await?)
}

/// The guild's current link generation (0 before any revoke).
pub async fn generation<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
) -> Result<i64, DbError> {
    let stored: Option<i64> =
        sqlx::query_scalar("select generation from dashboard_generations where guild_id = $1")
            .bind(guild_id)
            .fetch_optional(executor)
            .await?;
    Ok(stored.unwrap_or(0))
}

/// Bumps the guild's generation, so every link and session made before
/// stops working, and deletes its sessions; returns the new generation.
pub async fn revoke(
    pool: &sqlx::PgPool,
    guild_id: Snowflake,
    at: DateTime<Utc>,
) -> Result<i64, DbError> {
    let mut tx = pool.begin().await?;
    let generation: i64 = sqlx::query_scalar(
        "insert into dashboard_generations (guild_id, generation, revoked_at) values ($1, 1, $2)
         on conflict (guild_id) do update
             set generation = dashboard_generations.generation + 1, revoked_at = $2
         returning generation",
    )
    .bind(guild_id)
    .bind(at)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("delete from dashboard_sessions where guild_id = $1")
        .bind(guild_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(generation)
}

/// A session as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredSession {
    pub guild_id: Snowflake,
    pub user_id: Snowflake,
    pub generation: i64,
    pub sees_private: bool,
    pub expires_at: DateTime<Utc>,
}

/// Exchanges a link (by its hash) for a session in one transaction: false,
/// and nothing stored, when the link was used before.
pub async fn open_session(
    pool: &sqlx::PgPool,
    token_hash: &[u8; 32],
    token_expires_at: DateTime<Utc>,
    session_hash: &[u8; 32],
    session: StoredSession,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let mut tx = pool.begin().await?;
    let fresh = sqlx::query(
        "insert into dashboard_used_links (token_hash, expires_at) values ($1, $2)
         on conflict (token_hash) do nothing",
    )
    .bind(token_hash.as_slice())
    .bind(token_expires_at)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !fresh {
        return Ok(false);
    }
    sqlx::query(
        "insert into dashboard_sessions (session_hash, guild_id, user_id, generation, sees_private,
                                         created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(session_hash.as_slice())
    .bind(session.guild_id)
    .bind(session.user_id)
    .bind(session.generation)
    .bind(session.sees_private)
    .bind(now)
    .bind(session.expires_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The session with this hash if it is unexpired at `now` and of its
/// guild's current generation.
pub async fn live_session<'e>(
    executor: impl PgExecutor<'e>,
    session_hash: &[u8; 32],
    now: DateTime<Utc>,
) -> Result<Option<StoredSession>, DbError> {
    Ok(sqlx::query_as(
        "select s.guild_id, s.user_id, s.generation, s.sees_private, s.expires_at
         from dashboard_sessions s
         left join dashboard_generations g on g.guild_id = s.guild_id
         where s.session_hash = $1 and s.expires_at > $2
           and s.generation = coalesce(g.generation, 0)",
    )
    .bind(session_hash.as_slice())
    .bind(now)
    .fetch_optional(executor)
    .await?)
}

/// Deletes sessions and used links past their expiry; returns how many.
pub async fn sweep_expired<'e>(
    executor: impl PgExecutor<'e>,
    now: DateTime<Utc>,
) -> Result<u64, DbError> {
    let swept: i64 = sqlx::query_scalar(
        "with s as (delete from dashboard_sessions where expires_at <= $1 returning 1),
              l as (delete from dashboard_used_links where expires_at <= $1 returning 1)
         select (select count(*) from s) + (select count(*) from l)",
    )
    .bind(now)
    .fetch_one(executor)
    .await?;
    Ok(swept as u64)
}
