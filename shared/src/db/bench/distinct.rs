//! The other way of counting active members that issue 14 asked to
//! measure: a distinct count over the period's `member_daily` rows (one
//! per active member and day) and the hourly rows at its ends. What the
//! commands ran before `active_daily`; the benchmark times it beside
//! [`crate::db::analytics::active_members`] (the bitmaps) on the same
//! guild and periods, and the tests use it as an independent count of the
//! same figure.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::db::DbError;
use crate::db::analytics::Bots;
use crate::ids::Snowflake;

/// Active members of `[from, to)` (the definition of
/// [`crate::db::analytics::active_members`]) by a distinct count of
/// member-days.
pub async fn active_members_by_member_days<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    bots: Bots,
) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar(
        "with s as (select days_from, days_to from serverpulse_full_days($1, $2, $3))
         select count(*)::bigint from (
             select d.user_id from member_daily d
              where d.guild_id = $1 and d.day_start >= (select days_from from s)
                and d.day_start < (select days_to from s)
                and (d.messages > 0 or ($4 and d.bot_messages > 0)
                     or ((d.reactions_given > 0 or d.voice_seconds > 0)
                         and ($4 or not exists (select 1 from members b
                                                 where b.guild_id = $1 and b.user_id = d.user_id and b.is_bot))))
             union
             select m.author_id from message_rollup m
              where m.guild_id = $1 and m.messages > 0 and (m.author_kind = 0 or $4)
                and ((m.hour >= $2 and m.hour < (select days_from from s))
                     or (m.hour >= (select days_to from s) and m.hour < $3))
             union
             select r.user_id from reaction_rollup r
              where r.guild_id = $1 and r.added > 0 and r.user_id <> 0
                and ((r.hour >= $2 and r.hour < (select days_from from s))
                     or (r.hour >= (select days_to from s) and r.hour < $3))
                and ($4 or not exists (select 1 from members b
                                        where b.guild_id = $1 and b.user_id = r.user_id and b.is_bot))
             union
             select v.user_id from voice_rollup v
              where v.guild_id = $1 and v.seconds > 0
                and ((v.hour >= $2 and v.hour < (select days_from from s))
                     or (v.hour >= (select days_to from s) and v.hour < $3))
                and ($4 or not exists (select 1 from members b
                                        where b.guild_id = $1 and b.user_id = v.user_id and b.is_bot))
         ) active",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .bind(bots.counted())
    .fetch_one(executor)
    .await?)
}
