//! A guild's data version: one number that changes whenever anything a
//! report of that guild is computed from changes (see the migration
//! `…600000_guild_data_versions`). The web endpoint's answer cache keys on
//! it; the ingester's flush sets it in the transaction that writes the
//! data, and triggers set it on settings, privacy, retention and access
//! writes. Values come from one sequence and are never reused.

use sqlx::PgExecutor;

use super::DbError;
use crate::ids::Snowflake;

/// Gives each of `guilds` a new version. Call it in the transaction that
/// writes their data, so the version and the data commit together.
pub async fn bump<'e>(executor: impl PgExecutor<'e>, guilds: &[Snowflake]) -> Result<(), DbError> {
    if guilds.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<i64> = guilds.iter().map(|g| g.to_db()).collect();
    // One lock order for every writer.
    ids.sort_unstable();
    ids.dedup();
    sqlx::query(
        "insert into guild_data_versions (guild_id, version)
         select g, nextval('guild_data_version_seq') from unnest($1::bigint[]) as g order by g
         on conflict (guild_id) do update set version = excluded.version",
    )
    .bind(&ids)
    .execute(executor)
    .await?;
    Ok(())
}

/// Gives every guild a new version (after the retention job dropped whole
/// months of every guild's rows).
pub async fn bump_all<'e>(executor: impl PgExecutor<'e>) -> Result<u64, DbError> {
    Ok(
        sqlx::query("update guild_data_versions set version = nextval('guild_data_version_seq')")
            .execute(executor)
            .await?
            .rows_affected(),
    )
}

/// The guild's current version; `None` before anything set one.
pub async fn current<'e>(
    executor: impl PgExecutor<'e>,
    guild: Snowflake,
) -> Result<Option<i64>, DbError> {
    Ok(
        sqlx::query_scalar("select version from guild_data_versions where guild_id = $1")
            .bind(guild)
            .fetch_optional(executor)
            .await?,
    )
}
