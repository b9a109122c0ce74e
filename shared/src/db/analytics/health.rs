//! Community health: how concentrated the conversation is.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use super::super::DbError;
use super::Bots;
use crate::ids::Snowflake;

/// How much of the conversation the most active members carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Concentration {
    /// Distinct authors of counted messages in the range.
    pub authors: i64,
    /// The top 10 % of them by messages: `ceil(authors / 10)`.
    pub top_authors: i64,
    /// Messages by those top authors.
    pub top_messages: i64,
    /// Every counted message in the range.
    pub messages: i64,
}

impl Concentration {
    /// The share (0–1) of messages written by the top 10 % of authors;
    /// `None` without messages.
    pub fn share(&self) -> Option<f64> {
        (self.messages > 0).then(|| self.top_messages as f64 / self.messages as f64)
    }
}

/// Message concentration in `[from, to)`: the share of counted messages
/// (members; bots and webhooks too when [`Bots::Counted`]) written by the
/// top 10 % of their authors (rounded up, at least one author). Hidden
/// members count, anonymously, as in every total.
pub async fn message_concentration<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    bots: Bots,
) -> Result<Concentration, DbError> {
    // Per-author totals: whole local days from `member_daily` (a range
    // scan of its primary key), the range's ends from message_rollup's
    // primary key (guild_id, hour, …).
    Ok(sqlx::query_as(concat!(
        "with ",
        split_days!(),
        ", ",
        covers_all!(),
        ", per_author as (
             select author_id, sum(messages)::bigint as messages from (
                 select * from (",
        whole_days!(
            "d.user_id, (d.messages + case when $4 then d.bot_messages else 0 end)::bigint, 0::smallint",
            "member_daily"
        ),
        " union all ",
        hourly_ends!(
            "m.author_id, m.messages::bigint, m.author_kind",
            "message_rollup",
            "m"
        ),
        ") by_day where not (select whole from w)
                 union all
                 select t.user_id, t.messages + case when $4 then t.bot_messages else 0 end, 0::smallint
                 from member_totals t where t.guild_id = $1 and (select whole from w)
                 union all
                 select o.author_id, -o.messages, o.author_kind from (",
        hourly_outside!(
            "m.author_id, m.messages::bigint, m.author_kind",
            "message_rollup",
            "m"
        ),
        ") o where (select whole from w)
             ) x (author_id, messages, author_kind)
             where author_kind = 0 or $4
             group by author_id having sum(messages) > 0
         ), ranked as (
             select messages, row_number() over (order by messages desc, author_id) as place,
                    count(*) over () as authors
             from per_author
         )
         select coalesce(max(authors), 0)::bigint as authors,
                coalesce(ceil(max(authors) / 10.0), 0)::bigint as top_authors,
                coalesce(sum(messages) filter (where place <= ceil(authors / 10.0)), 0)::bigint as top_messages,
                coalesce(sum(messages), 0)::bigint as messages
         from ranked"
    ))
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .bind(bots.counted())
    .fetch_one(executor)
    .await?)
}
