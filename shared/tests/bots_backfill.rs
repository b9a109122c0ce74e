//! The bots-counted-apart migration gives rows written before it their
//! bots' share from the per-member rows and `members.is_bot`.

use chrono::{DateTime, Duration, TimeZone, Utc};
use shared::Snowflake;
use shared::db::analytics::{self, Bots};
use shared::db::catalogue::{self, MemberRow, SpanRow};
use shared::db::rollups;
use shared::rollup::ChannelHourKey;
use shared::testing::TestDatabase;
use shared::time::Hour;

const GUILD: Snowflake = Snowflake(1);
const CHANNEL: Snowflake = Snowflake(10);
const BOT: Snowflake = Snowflake(900);
const OTHER_BOT: Snowflake = Snowflake(901);
const MEMBER: Snowflake = Snowflake(500);
const NEWCOMER: Snowflake = Snowflake(501);

fn hour() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 18, 0, 0).unwrap()
}

/// A directory with the repository's migrations older than `version`.
fn migrations_before(version: &str) -> std::path::PathBuf {
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let dir = std::env::temp_dir().join(format!(
        "sp_bots_migrations_{}_{}",
        std::process::id(),
        version
    ));
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(source).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.as_str() < version {
            std::fs::copy(&path, dir.join(&name)).unwrap();
        }
    }
    dir
}

#[tokio::test]
async fn rows_written_before_the_split_get_their_bots_share() {
    let db = TestDatabase::create_empty().await;
    let before = migrations_before("20261204300000");
    sqlx::migrate::Migrator::new(before.as_path())
        .await
        .unwrap()
        .run(&db.pool)
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(&before);
    let h = hour();
    let mut conn = db.pool.acquire().await.unwrap();
    rollups::ensure_partitions(&mut conn, &[h]).await.unwrap();
    // The catalogue as the ingester keeps it (these tables did not change).
    let member = |user_id, is_bot| MemberRow {
        guild_id: GUILD,
        user_id,
        is_bot,
        joined_at: Some(h - Duration::days(30)),
        left_at: None,
        join_count: 1,
    };
    catalogue::upsert_members(
        &mut *conn,
        &[
            member(BOT, true),
            member(OTHER_BOT, true),
            member(MEMBER, false),
            member(NEWCOMER, false),
        ],
    )
    .await
    .unwrap();
    let span = |user_id, joined_at, left_at| SpanRow {
        guild_id: GUILD,
        user_id,
        joined_at,
        left_at,
        is_rejoin: false,
    };
    catalogue::upsert_spans(
        &mut *conn,
        &[
            span(BOT, h + Duration::minutes(5), None),
            span(NEWCOMER, h + Duration::minutes(10), None),
            span(
                OTHER_BOT,
                h - Duration::days(30),
                Some(h + Duration::minutes(20)),
            ),
        ],
    )
    .await
    .unwrap();
    // Rollup rows in the old shape: the product no longer writes it, so
    // they are written as the old flush wrote them.
    for (sql, user, value) in [
        (
            "insert into reaction_rollup (guild_id, hour, channel_id, user_id, receiver_id, emoji, added, removed)
             values ($1, $2, $3, $4, 0, '👍', $5, 0)",
            BOT,
            2,
        ),
        (
            "insert into reaction_rollup (guild_id, hour, channel_id, user_id, receiver_id, emoji, added, removed)
             values ($1, $2, $3, $4, 0, '👍', $5, 0)",
            MEMBER,
            1,
        ),
        (
            "insert into voice_rollup (guild_id, hour, channel_id, user_id, seconds) values ($1, $2, $3, $4, $5)",
            BOT,
            600,
        ),
        (
            "insert into voice_rollup (guild_id, hour, channel_id, user_id, seconds) values ($1, $2, $3, $4, $5)",
            MEMBER,
            400,
        ),
    ] {
        sqlx::query(sql)
            .bind(GUILD)
            .bind(h)
            .bind(CHANNEL)
            .bind(user)
            .bind(value)
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    sqlx::query(
        "insert into voice_peak_rollup (guild_id, hour, channel_id, peak_concurrent) values ($1, $2, $3, 3)",
    )
    .bind(GUILD)
    .bind(h)
    .bind(CHANNEL)
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query(
        "insert into guild_hourly (guild_id, hour, reactions_added, voice_seconds, joins, leaves)
         values ($1, $2, 3, 1000, 2, 1)",
    )
    .bind(GUILD)
    .bind(h)
    .execute(&mut *conn)
    .await
    .unwrap();
    drop(conn);

    shared::db::migrate(&db.pool).await.unwrap();

    let mut conn = db.pool.acquire().await.unwrap();
    let stored = rollups::load_guild(&mut conn, GUILD).await.unwrap();
    let totals = stored.guild_hourly.values().next().copied().unwrap();
    assert_eq!(
        (
            totals.bot_reactions_added,
            totals.bot_voice_seconds,
            totals.bot_joins,
            totals.bot_leaves
        ),
        (2, 600, 1, 1)
    );
    let key = ChannelHourKey {
        guild_id: GUILD,
        hour: Hour::containing(h),
        channel_id: CHANNEL,
    };
    assert_eq!(stored.voice_peaks[&key], 3);
    assert_eq!(
        stored.member_voice_peaks[&key], 2,
        "the peak less the bot that was in the channel"
    );
    let (from, to) = (h, h + Duration::hours(1));
    let out = analytics::guild_totals(&db.pool, GUILD, from, to, Bots::LeftOut)
        .await
        .unwrap();
    let all = analytics::guild_totals(&db.pool, GUILD, from, to, Bots::Counted)
        .await
        .unwrap();
    assert_eq!(
        (
            out.reactions_added,
            out.voice_seconds,
            out.joins,
            out.leaves
        ),
        (1, 400, 1, 0)
    );
    assert_eq!(
        (
            all.reactions_added,
            all.voice_seconds,
            all.joins,
            all.leaves
        ),
        (3, 1000, 2, 1)
    );
}
