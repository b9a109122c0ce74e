//! Membership, active members and join cohorts.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use super::super::DbError;
use super::Bots;
use crate::ids::Snowflake;

/// Membership figures of a range; "members" are humans, and bots too when
/// [`Bots::Counted`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct MembershipFigures {
    /// Members now: the guild's member count (less the bots known, when
    /// they are left out).
    pub members_now: Option<i64>,
    /// Joins and leaves after the range (to walk back from now).
    pub joins_after: i64,
    pub leaves_after: i64,
    /// Distinct users who joined in the range and were not members when it
    /// began.
    pub new_users: i64,
}

impl MembershipFigures {
    /// Members at the end of the range.
    pub fn members_at_end(&self) -> Option<i64> {
        self.members_now
            .map(|now| now - self.joins_after + self.leaves_after)
    }
}

/// Member counts around a range; see [`MembershipFigures`].
pub async fn membership<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    bots: Bots,
) -> Result<MembershipFigures, DbError> {
    Ok(sqlx::query_as(
        "select (select g.member_count::bigint
                        - case when $4 then 0 else
                            (select count(*) from members b where b.guild_id = $1 and b.is_bot and b.left_at is null) end
                 from guilds g where g.guild_id = $1) as members_now,
                (select coalesce(sum(joins - case when $4 then 0 else bot_joins end), 0)::bigint
                   from guild_hourly where guild_id = $1 and hour >= $3) as joins_after,
                (select coalesce(sum(leaves - case when $4 then 0 else bot_leaves end), 0)::bigint
                   from guild_hourly where guild_id = $1 and hour >= $3) as leaves_after,
                (select count(distinct s.user_id) from membership_spans s
                  where s.guild_id = $1 and s.joined_at >= $2 and s.joined_at < $3
                    and ($4 or not exists (select 1 from members b where b.guild_id = $1 and b.user_id = s.user_id and b.is_bot))
                    and not exists (select 1 from membership_spans p
                                     where p.guild_id = $1 and p.user_id = s.user_id
                                       and p.joined_at <= $2 and (p.left_at is null or p.left_at > $2)))::bigint as new_users",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .bind(bots.counted())
    .fetch_one(executor)
    .await?)
}

/// Active members of the range: the one definition every figure uses
/// (commands, digests, the Pulse Report, exports, the dashboard). A member
/// is active who posted a message, added a reaction or spent time in voice
/// in `[from, to)`. Bots are left out unless [`Bots::Counted`]: messages by
/// `author_kind` (bots and webhooks), reactions and voice by the
/// catalogue's bot flag, as in the leaderboards. Members erased with
/// `/privacy delete` have no per-member rows, so they are not counted;
/// hidden members are (they still count in totals).
pub async fn active_members<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    bots: Bots,
) -> Result<i64, DbError> {
    // Whole local days from `active_daily` (a range scan of its primary
    // key: one row per day and 2,048 members, OR-ed per chunk and its bits
    // counted); the ends outside whole days from the hourly rollups, each
    // end a range scan of one rollup's (guild_id, hour, …) primary key,
    // whose members count when their bit is not already set. Bots among
    // those who only reacted or spoke are left out by the catalogue's flag
    // (`members_bots_idx`). Reactions imported from history have no known
    // giver (user 0) and make nobody active.
    Ok(sqlx::query_scalar(concat!(
        "with ",
        split_days!(),
        ", bots as (
             select i.idx / 2048 as chunk, bit_or(set_bit(B'0'::bit(2048), i.idx % 2048, 1)) as bits
             from members b join member_index i on i.guild_id = b.guild_id and i.user_id = b.user_id
             where b.guild_id = $1 and b.is_bot and not $4
             group by 1
         ), chunks as (
             select chunk, bit_or(posted) as posted, bit_or(bot_posted) as bot_posted,
                    bit_or(took_part) as took_part
             from active_daily
             where guild_id = $1 and day_start >= (select days_from from s)
               and day_start < (select days_to from s)
             group by chunk
         ), days as (
             select c.chunk,
                    case when $4 then c.posted | c.bot_posted | c.took_part
                         else c.posted | (c.took_part & ~coalesce(b.bits, B'0'::bit(2048)))
                    end as bits
             from chunks c left join bots b on b.chunk = c.chunk
         ), ends as (
             select author_id as user_id from (",
        hourly_ends!(
            "m.author_id, m.author_kind, m.messages",
            "message_rollup",
            "m"
        ),
        ") m where (author_kind = 0 or $4) and messages > 0
             union
             select user_id from (",
        hourly_ends!("r.user_id, r.added", "reaction_rollup", "r"),
        ") r where added > 0 and user_id <> 0
                 and ($4 or not exists (select 1 from members b
                                         where b.guild_id = $1 and b.user_id = r.user_id and b.is_bot))
             union
             select user_id from (",
        hourly_ends!("v.user_id, v.seconds", "voice_rollup", "v"),
        ") v where seconds > 0
                 and ($4 or not exists (select 1 from members b
                                         where b.guild_id = $1 and b.user_id = v.user_id and b.is_bot))
         )
         select (select coalesce(sum(bit_count(bits)), 0) from days)::bigint
              + (select count(*) from ends e
                 left join member_index i on i.guild_id = $1 and i.user_id = e.user_id
                 left join days d on d.chunk = i.idx / 2048
                 where d.bits is null or get_bit(d.bits, i.idx % 2048) = 0)::bigint"
    ))
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .bind(bots.counted())
    .fetch_one(executor)
    .await?)
}

/// Activation and retention of the joins in a range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct JoinCohort {
    /// Joins (each membership span) in the range, bots only when counted.
    pub joined: i64,
    /// Of those, spans whose first message came within 7 days of the join.
    pub activated: i64,
    /// Joins at least 7 days before `as_of`.
    pub eligible_7d: i64,
    /// Of those, users who were members (any span) 7 days after joining.
    pub retained_7d: i64,
    pub eligible_30d: i64,
    pub retained_30d: i64,
}

/// The join cohort of `[from, to)` as of instant `as_of`.
pub async fn join_cohort<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    as_of: DateTime<Utc>,
    bots: Bots,
) -> Result<JoinCohort, DbError> {
    Ok(sqlx::query_as(
        "with cohort as (
             select s.user_id, s.joined_at, s.first_message_at from membership_spans s
             where s.guild_id = $1 and s.joined_at >= $2 and s.joined_at < $3
               and ($5 or not exists (select 1 from members b where b.guild_id = $1 and b.user_id = s.user_id and b.is_bot))
         ), marked as (
             select c.*,
                    c.joined_at + interval '7 days' <= $4 as eligible_7d,
                    c.joined_at + interval '30 days' <= $4 as eligible_30d,
                    exists (select 1 from membership_spans m where m.guild_id = $1 and m.user_id = c.user_id
                              and m.joined_at <= c.joined_at + interval '7 days'
                              and (m.left_at is null or m.left_at > c.joined_at + interval '7 days')) as member_7d,
                    exists (select 1 from membership_spans m where m.guild_id = $1 and m.user_id = c.user_id
                              and m.joined_at <= c.joined_at + interval '30 days'
                              and (m.left_at is null or m.left_at > c.joined_at + interval '30 days')) as member_30d
             from cohort c
         )
         select count(*)::bigint as joined,
                count(*) filter (where first_message_at is not null
                                   and first_message_at < joined_at + interval '7 days')::bigint as activated,
                count(*) filter (where eligible_7d)::bigint as eligible_7d,
                count(*) filter (where eligible_7d and member_7d)::bigint as retained_7d,
                count(*) filter (where eligible_30d)::bigint as eligible_30d,
                count(*) filter (where eligible_30d and member_30d)::bigint as retained_30d
         from marked",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .bind(as_of)
    .bind(bots.counted())
    .fetch_one(executor)
    .await?)
}
