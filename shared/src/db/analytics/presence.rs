//! Who is in voice right now, and when a member was first and last seen.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use super::super::DbError;
use super::Bots;
use crate::ids::Snowflake;

/// A member in a voice channel at the ingester's last commit.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InVoice {
    pub user_id: Snowflake,
    pub channel_id: Snowflake,
    /// When the member joined that channel (or when the ingester first saw
    /// them there).
    pub since: DateTime<Utc>,
}

/// Everyone in voice in the guild as the ingester last committed it
/// (`voice_sessions`), longest there first; bots only when
/// [`Bots::Counted`]; members who chose `/privacy hide` are left out.
pub async fn in_voice_now<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    bots: Bots,
) -> Result<Vec<InVoice>, DbError> {
    // voice_sessions' primary key (guild_id, user_id).
    Ok(sqlx::query_as(
        "select v.user_id, v.channel_id, v.started_at as since from voice_sessions v
         where v.guild_id = $1
           and not exists (select 1 from member_privacy h where h.guild_id = $1 and h.user_id = v.user_id)
           and ($2 or not exists (select 1 from members b where b.guild_id = $1 and b.user_id = v.user_id and b.is_bot))
         order by v.started_at, v.user_id",
    )
    .bind(guild_id)
    .bind(bots.counted())
    .fetch_all(executor)
    .await?)
}

/// The first and last UTC hour a member posted, reacted or was in voice,
/// over everything kept (retention removes older hours).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Seen {
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
}

/// When `user_id` was first and last seen in the guild: the earliest and
/// latest hour with a message, a reaction given or voice time.
pub async fn member_seen<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    user_id: Snowflake,
) -> Result<Seen, DbError> {
    // The per-member indexes (guild_id, author_id | user_id, hour).
    Ok(sqlx::query_as(
        "select min(first) as first, max(last) as last from (
             select min(hour) as first, max(hour) as last from message_rollup
              where guild_id = $1 and author_id = $2 and messages > 0
             union all
             select min(hour), max(hour) from reaction_rollup
              where guild_id = $1 and user_id = $2 and added > 0
             union all
             select min(hour), max(hour) from voice_rollup
              where guild_id = $1 and user_id = $2 and seconds > 0
         ) s",
    )
    .bind(guild_id)
    .bind(user_id)
    .fetch_one(executor)
    .await?)
}
