//! The naive command baseline: the same messages one row each, and the
//! overview's figures read from that table and from the rollups.

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::QueryAs;
use sqlx::{FromRow, PgConnection, Postgres};

use crate::db::DbError;
use crate::ids::Snowflake;

/// Expands the guild's `message_rollup` rows of `[from, to)` into one
/// `bench_message_log` row per message, at a pseudo-random second of the
/// hour (so the per-event table holds exactly the messages the rollups
/// count). Returns the rows written.
pub async fn expand_message_log(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<u64, DbError> {
    let done = sqlx::query(
        "insert into bench_message_log (guild_id, channel_id, author_id, sent_at)
         select m.guild_id, m.channel_id, m.author_id,
                m.hour + make_interval(secs => ((m.author_id # (n * 7919)) & 4095) % 3600)
         from message_rollup m, generate_series(1, m.messages) as n
         where m.guild_id = $1 and m.hour >= $2 and m.hour < $3",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// The index a bot storing messages one row each would have.
pub async fn index_message_log(conn: &mut PgConnection) -> Result<(), DbError> {
    sqlx::query(
        "create index bench_message_log_guild_sent on bench_message_log (guild_id, sent_at)",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query("analyze bench_message_log")
        .execute(conn)
        .await?;
    Ok(())
}

/// The overview's figures computed from the per-event table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NaiveOverview {
    pub messages: i64,
    pub active_members: i64,
    /// Busiest channels, most messages first.
    pub top_channels: Vec<(Snowflake, i64)>,
    /// Messages per UTC day (the overview chart).
    pub per_day: Vec<(DateTime<Utc>, i64)>,
}

/// A guild's `[from, to)`, which every overview query binds as `$1, $2, $3`.
#[derive(Clone, Copy)]
struct Period {
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

impl Period {
    fn query<O>(self, sql: &'static str) -> QueryAs<'static, Postgres, O, PgArguments>
    where
        O: for<'r> FromRow<'r, PgRow>,
    {
        sqlx::query_as(sql)
            .bind(self.guild_id)
            .bind(self.from)
            .bind(self.to)
    }

    /// The overview, given its totals: reads the busiest channels and the
    /// messages per day, each with its own query.
    async fn overview(
        self,
        conn: &mut PgConnection,
        (messages, active_members): (i64, i64),
        top_channels: &'static str,
        per_day: &'static str,
    ) -> Result<NaiveOverview, DbError> {
        let top_channels = self.query(top_channels).fetch_all(&mut *conn).await?;
        let per_day = self.query(per_day).fetch_all(conn).await?;
        Ok(NaiveOverview {
            messages,
            active_members,
            top_channels,
            per_day,
        })
    }
}

/// What a bot without rollups runs for an overview: every message of the
/// period is read (three times: totals, channels, days).
pub async fn naive_overview(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<NaiveOverview, DbError> {
    let period = Period { guild_id, from, to };
    let (messages, active_members) = period
        .query(
            "select count(*), count(distinct author_id) from bench_message_log
             where guild_id = $1 and sent_at >= $2 and sent_at < $3",
        )
        .fetch_one(&mut *conn)
        .await?;
    period
        .overview(
            conn,
            (messages, active_members),
            "select channel_id, count(*) as n from bench_message_log
             where guild_id = $1 and sent_at >= $2 and sent_at < $3
             group by channel_id order by n desc, channel_id limit 5",
            "select date_trunc('day', sent_at, 'UTC'), count(*) from bench_message_log
             where guild_id = $1 and sent_at >= $2 and sent_at < $3
             group by 1 order by 1",
        )
        .await
}

/// The same overview figures from the rollups (the cross-check that the
/// naive table holds the same messages, and the rollup side of the ratio).
pub async fn rollup_overview(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<NaiveOverview, DbError> {
    let period = Period { guild_id, from, to };
    let (messages,) = period
        .query(
            "select coalesce(sum(messages), 0)::bigint from guild_hourly
             where guild_id = $1 and hour >= $2 and hour < $3",
        )
        .fetch_one(&mut *conn)
        .await?;
    let (active_members,) = period
        .query(
            "select count(distinct author_id) from message_rollup
             where guild_id = $1 and hour >= $2 and hour < $3",
        )
        .fetch_one(&mut *conn)
        .await?;
    period
        .overview(
            conn,
            (messages, active_members),
            "select channel_id, sum(messages)::bigint as n from message_rollup
             where guild_id = $1 and hour >= $2 and hour < $3
             group by channel_id order by n desc, channel_id limit 5",
            "select date_trunc('day', hour, 'UTC'), sum(messages)::bigint from guild_hourly
             where guild_id = $1 and hour >= $2 and hour < $3
             group by 1 order by 1",
        )
        .await
}
