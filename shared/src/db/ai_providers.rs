//! The AI provider each guild chose for its Pulse Report and its key,
//! encrypted by the caller (this module never sees a plaintext key).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

use super::DbError;
use super::settings::record_audit;
use crate::ids::Snowflake;

/// An encrypted key as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedKey {
    pub ciphertext: Vec<u8>,
    pub nonce: Vec<u8>,
    /// The fingerprint of the master key that sealed it.
    pub version: String,
    pub last4: String,
}

/// A guild's choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuildProvider {
    pub guild_id: Snowflake,
    pub provider: String,
    pub model: String,
    pub key: Option<SealedKey>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Row {
    guild_id: Snowflake,
    provider: String,
    model: String,
    key_sealed: Option<Vec<u8>>,
    key_nonce: Option<Vec<u8>>,
    key_version: Option<String>,
    key_last4: Option<String>,
    updated_at: DateTime<Utc>,
}

impl From<Row> for GuildProvider {
    fn from(r: Row) -> Self {
        let key = match (r.key_sealed, r.key_nonce, r.key_version, r.key_last4) {
            (Some(ciphertext), Some(nonce), Some(version), Some(last4)) => Some(SealedKey {
                ciphertext,
                nonce,
                version,
                last4,
            }),
            _ => None,
        };
        Self {
            guild_id: r.guild_id,
            provider: r.provider,
            model: r.model,
            key,
            updated_at: r.updated_at,
        }
    }
}

/// The guild's provider, if it chose one.
pub async fn get<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
) -> Result<Option<GuildProvider>, DbError> {
    let row: Option<Row> = sqlx::query_as(
        "select guild_id, provider, model, key_sealed, key_nonce, key_version, key_last4,
                updated_at
         from ai_providers where guild_id = $1",
    )
    .bind(guild_id)
    .fetch_optional(executor)
    .await?;
    Ok(row.map(Into::into))
}

/// Chooses `provider` and `model` for the guild, with audit. A key set for
/// another provider is dropped (a key only ever goes to its own provider);
/// returns whether a stored key was kept. Run in a transaction.
pub async fn set_provider(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    actor_id: Snowflake,
    provider: &str,
    model: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let kept: bool = sqlx::query_scalar(
        "insert into ai_providers (guild_id, provider, model, updated_at)
         values ($1, $2, $3, $4)
         on conflict (guild_id) do update set
             provider = excluded.provider,
             model = excluded.model,
             updated_at = excluded.updated_at,
             key_sealed = case when ai_providers.provider = excluded.provider
                                   then ai_providers.key_sealed end,
             key_nonce = case when ai_providers.provider = excluded.provider
                              then ai_providers.key_nonce end,
             key_version = case when ai_providers.provider = excluded.provider
                                then ai_providers.key_version end,
             key_last4 = case when ai_providers.provider = excluded.provider
                              then ai_providers.key_last4 end
         returning key_sealed is not null",
    )
    .bind(guild_id)
    .bind(provider)
    .bind(model)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    record_audit(
        &mut *conn,
        guild_id,
        actor_id,
        "ai_provider.set",
        serde_json::json!({"provider": provider, "model": model, "key_kept": kept}),
    )
    .await?;
    Ok(kept)
}

/// Stores the sealed key of the guild's chosen `provider`, with an audit
/// entry that says a key was set (its last 4 characters, never the key).
/// Returns false when the guild's provider is not `provider` any more.
/// Run in a transaction.
pub async fn set_key(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    actor_id: Snowflake,
    provider: &str,
    key: &SealedKey,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let updated = sqlx::query(
        "update ai_providers set key_sealed = $3, key_nonce = $4, key_version = $5,
                                 key_last4 = $6, updated_at = $7
         where guild_id = $1 and provider = $2",
    )
    .bind(guild_id)
    .bind(provider)
    .bind(&key.ciphertext)
    .bind(&key.nonce)
    .bind(&key.version)
    .bind(&key.last4)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if updated == 0 {
        return Ok(false);
    }
    record_audit(
        &mut *conn,
        guild_id,
        actor_id,
        "ai_provider.key_set",
        serde_json::json!({"provider": provider, "last4": key.last4}),
    )
    .await?;
    Ok(true)
}

/// Forgets the guild's provider and key, with audit; returns whether there
/// was one. Run in a transaction.
pub async fn clear(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    actor_id: Snowflake,
) -> Result<bool, DbError> {
    let removed = sqlx::query("delete from ai_providers where guild_id = $1")
        .bind(guild_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if removed > 0 {
        record_audit(
            &mut *conn,
            guild_id,
            actor_id,
            "ai_provider.clear",
            serde_json::json!({}),
        )
        .await?;
    }
    Ok(removed > 0)
}

/// Up to `limit` guilds after `after` (by id) whose key was sealed under a
/// master key other than `version` (what `rotate-keys` re-encrypts).
pub async fn sealed_under_other<'e>(
    executor: impl PgExecutor<'e>,
    version: &str,
    after: Snowflake,
    limit: i64,
) -> Result<Vec<GuildProvider>, DbError> {
    let rows: Vec<Row> = sqlx::query_as(
        "select guild_id, provider, model, key_sealed, key_nonce, key_version, key_last4,
                updated_at
         from ai_providers
         where guild_id > $2 and key_sealed is not null and key_version <> $1
         order by guild_id limit $3",
    )
    .bind(version)
    .bind(after)
    .bind(limit)
    .fetch_all(executor)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Replaces a key sealed under `old_version` by its re-encryption; false
/// when it changed meanwhile.
pub async fn reseal<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    old_version: &str,
    key: &SealedKey,
) -> Result<bool, DbError> {
    Ok(sqlx::query(
        "update ai_providers set key_sealed = $3, key_nonce = $4, key_version = $5
         where guild_id = $1 and key_version = $2",
    )
    .bind(guild_id)
    .bind(old_version)
    .bind(&key.ciphertext)
    .bind(&key.nonce)
    .bind(&key.version)
    .execute(executor)
    .await?
    .rows_affected()
        == 1)
}
