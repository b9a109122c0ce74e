//! Emoji used as reactions, per guild or per channel.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use super::super::DbError;
use super::Bots;
use crate::ids::Snowflake;

/// One emoji's reactions in a range.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EmojiCount {
    /// The Unicode emoji itself (`👍`), or `name:id` for a custom emoji.
    pub emoji: String,
    /// Reactions added with it: its use.
    pub added: i64,
    /// Reactions with it taken back.
    pub removed: i64,
}

/// Every emoji used as a reaction in `[from, to)`, most added first (ties
/// by emoji, bytewise), by members (bot accounts too when [`Bots::Counted`]), in one
/// channel (its threads included) or the whole guild. The same adds as the
/// guild's reaction totals and the digest's top emoji.
pub async fn emoji_usage<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    channel: Option<Snowflake>,
    bots: Bots,
) -> Result<Vec<EmojiCount>, DbError> {
    // Whole local days from reaction_daily, the ends from reaction_rollup
    // (`reaction_rows!`), each a range scan of its primary key.
    Ok(sqlx::query_as(concat!(
        "with ",
        split_days!(),
        ", ",
        reaction_rows!(),
        "
         select r.emoji, sum(r.added)::bigint as added, sum(r.removed)::bigint as removed
         from reaction_rows r
         where ($4::bigint is null or r.channel_id = $4
                or r.channel_id in (select channel_id from channels t where t.guild_id = $1 and t.parent_id = $4))
           and ($5 or not exists (select 1 from members b where b.guild_id = $1 and b.user_id = r.user_id and b.is_bot))
         group by r.emoji having sum(r.added) > 0 or sum(r.removed) > 0
         order by added desc, r.emoji collate \"C\""
    ))
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .bind(channel)
    .bind(bots.counted())
    .fetch_all(executor)
    .await?)
}
