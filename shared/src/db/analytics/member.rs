//! One member's (or one channel's) activity: hours, channels, interactions, content.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use super::super::DbError;
use super::Bots;
use crate::ids::Snowflake;

/// Messages per UTC hour, optionally of one user and/or in one channel
/// (threads under it included); member messages, and bots' and webhooks'
/// when [`Bots::Counted`].
pub async fn message_hours<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    user: Option<Snowflake>,
    channel: Option<Snowflake>,
    bots: Bots,
) -> Result<Vec<(DateTime<Utc>, i64)>, DbError> {
    Ok(sqlx::query_as(
        "select hour, sum(messages)::bigint from message_rollup
         where guild_id = $1 and hour >= $2 and hour < $3 and (author_kind = 0 or $6)
           and ($4::bigint is null or author_id = $4)
           and ($5::bigint is null or channel_id = $5 or thread_parent_id = $5)
         group by hour order by hour",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .bind(user)
    .bind(channel)
    .bind(bots.counted())
    .fetch_all(executor)
    .await?)
}

/// One channel's share of a member's messages.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChannelCount {
    pub channel_id: Snowflake,
    pub name: Option<String>,
    pub messages: i64,
}

/// A member's messages per top-level channel (threads under their parent),
/// most first (a bot's only when [`Bots::Counted`]).
pub async fn member_channels<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    user_id: Snowflake,
    bots: Bots,
) -> Result<Vec<ChannelCount>, DbError> {
    // Whole local days from message_daily_author_idx (guild_id, author_id,
    // day_start), the ends from message_rollup_author_idx.
    Ok(sqlx::query_as(concat!(
        "with ",
        split_days!(),
        ", ",
        msg_rows!(),
        "
         select m.channel_id, c.name, m.messages from (
             select coalesce(thread_parent_id, channel_id) as channel_id, sum(messages)::bigint as messages
             from msg_rows
             where author_id = $4 and (author_kind = 0 or $5)
             group by 1
         ) m left join channels c on c.guild_id = $1 and c.channel_id = m.channel_id
         order by m.messages desc, m.channel_id"
    ))
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .bind(user_id)
    .bind(bots.counted())
    .fetch_all(executor)
    .await?)
}

/// A member's voice seconds and reactions given and received in a range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct MemberInteractions {
    pub voice_seconds: i64,
    pub reactions_given: i64,
    pub reactions_received: i64,
}

pub async fn member_interactions<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    user_id: Snowflake,
) -> Result<MemberInteractions, DbError> {
    Ok(sqlx::query_as(
        // Whole local days from `member_daily` (its (guild_id, user_id,
        // day_start) index), the range's ends from the hourly rollups.
        concat!(
            "with ",
            split_days!(),
            "
         select coalesce(sum(voice), 0)::bigint as voice_seconds,
                coalesce(sum(given), 0)::bigint as reactions_given,
                coalesce(sum(received), 0)::bigint as reactions_received
         from (
             select d.voice_seconds as voice, d.reactions_given::bigint as given,
                    d.reactions_received::bigint as received
             from member_daily d
             where d.guild_id = $1 and d.user_id = $4 and d.day_start >= (select days_from from s)
               and d.day_start < (select days_to from s)
             union all
             select seconds, 0, 0 from (",
            hourly_ends!("v.user_id, v.seconds", "voice_rollup", "v"),
            ") v where user_id = $4
             union all
             select 0, added, 0 from (",
            hourly_ends!("r.user_id, r.added", "reaction_rollup", "r"),
            ") r where user_id = $4
             union all
             select 0, 0, added from (",
            hourly_ends!("r.receiver_id, r.added", "reaction_rollup", "r"),
            ") r where receiver_id = $4 and receiver_id <> 0
         ) x"
        ),
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .bind(user_id)
    .fetch_one(executor)
    .await?)
}

/// Voice seconds per UTC hour, optionally in one channel (bots' only when
/// [`Bots::Counted`]).
pub async fn voice_hours<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    channel: Option<Snowflake>,
    bots: Bots,
) -> Result<Vec<(DateTime<Utc>, i64)>, DbError> {
    Ok(sqlx::query_as(
        "select v.hour, sum(v.seconds)::bigint from voice_rollup v
         where v.guild_id = $1 and v.hour >= $2 and v.hour < $3
           and ($4::bigint is null or v.channel_id = $4)
           and ($5 or not exists (select 1 from members b where b.guild_id = $1 and b.user_id = v.user_id and b.is_bot))
         group by v.hour order by v.hour",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .bind(channel)
    .bind(bots.counted())
    .fetch_all(executor)
    .await?)
}

/// Content of counted messages in a range (members'; bots' and webhooks'
/// too when [`Bots::Counted`]). guild_hourly's content columns count every
/// author whatever the setting, so this reads message_rollup.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct MemberContent {
    pub attachments: i64,
    pub embeds: i64,
    pub stickers: i64,
    /// Messages posted in threads.
    pub thread_messages: i64,
}

pub async fn member_content<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    bots: Bots,
) -> Result<MemberContent, DbError> {
    // Whole local days from message_daily, the ends from message_rollup.
    Ok(sqlx::query_as(concat!(
        "with ",
        split_days!(),
        ", ",
        msg_rows!(),
        "
         select coalesce(sum(attachments), 0)::bigint as attachments,
                coalesce(sum(embeds), 0)::bigint as embeds,
                coalesce(sum(stickers), 0)::bigint as stickers,
                coalesce(sum(messages) filter (where thread_parent_id is not null), 0)::bigint as thread_messages
         from msg_rows
         where author_kind = 0 or $4"
    ))
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .bind(bots.counted())
    .fetch_one(executor)
    .await?)
}
