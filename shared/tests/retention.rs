//! The retention job against a real PostgreSQL (a fresh database per
//! test), with rows written by the ingester's own flush and catalogue
//! upserts.

use chrono::{DateTime, Duration, TimeZone, Utc};
use shared::Snowflake;
use shared::alerts::{AlertKind, Delivery, Incident, IncidentDetail};
use shared::config::RetentionPolicy;
use shared::db::catalogue::{self, GuildRow, MemberRow, SpanRow};
use shared::db::digest_settings::DigestFrequency;
use shared::db::digests::{self, DigestKey, DigestOutcome};
use shared::db::outbox::{self, NewOutboxItem, OutboxKind};
use shared::db::pulse::{self, NewReport};
use shared::db::pulse_jobs::{self, NewJob};
use shared::db::{alerts, dashboard, retention, rollups, settings};
use shared::rollup::{
    AuthorKind, MessageFacts, PreTrackingReactionKey, ReactionKey, RollupBatch, VoiceKey,
};
use shared::testing::{TestDatabase, guild_row_counts, statements_waiting_for_locks, table_exists};
use shared::time::Hour;
use sqlx::PgPool;

/// The guild with a 30-day window, and one with the default 90 days.
const SHORT: Snowflake = Snowflake(301);
const DEFAULT: Snowflake = Snowflake(302);
const CHANNEL: Snowflake = Snowflake(3000);
const MEMBER: Snowflake = Snowflake(31);
const OTHER: Snowflake = Snowflake(32);
const ADMIN: Snowflake = Snowflake(1);

/// The run's instant: horizons are 2026-11-02 (30 days), 2026-09-03 (90
/// days) and, with `RETENTION_MAX_DAYS=365`, 2025-12-02.
fn run_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap()
}

fn policy() -> RetentionPolicy {
    RetentionPolicy {
        max_days: 365,
        grace_days: 7,
    }
}

fn utc(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 10, 0, 0).unwrap()
}

/// One message from MEMBER with a reaction from OTHER, as to a message
/// posted before tracking began (the history import's correction, kept by
/// the message's time), and a minute of MEMBER's voice, at `at`.
fn activity(batch: &mut RollupBatch, guild: Snowflake, at: DateTime<Utc>) {
    let hour = Hour::containing(at);
    batch.add_message(MessageFacts {
        guild_id: guild,
        hour,
        channel_id: CHANNEL,
        thread_parent_id: None,
        author_id: MEMBER,
        author_kind: AuthorKind::Member,
        attachments: 0,
        embeds: 0,
        stickers: 0,
    });
    batch.add_reaction(
        ReactionKey {
            guild_id: guild,
            hour,
            channel_id: CHANNEL,
            user_id: OTHER,
            receiver_id: MEMBER,
            emoji: "👍".into(),
        },
        true,
        false,
    );
    batch.add_pre_tracking_reaction(
        PreTrackingReactionKey {
            guild_id: guild,
            channel_id: CHANNEL,
            message_id: Snowflake::at(at),
            emoji: "👍".into(),
        },
        true,
    );
    batch.add_voice_seconds(
        VoiceKey {
            guild_id: guild,
            hour,
            channel_id: CHANNEL,
            user_id: MEMBER,
        },
        60,
        false,
    );
}

/// The 15th of every month from October 2025 to November 2026, plus
/// 1 November 2026 (just outside 30 days) and 1 December 2026.
fn fourteen_months() -> Vec<DateTime<Utc>> {
    let mut days: Vec<DateTime<Utc>> = (0..14)
        .map(|i| {
            let month0 = 9 + i; // October 2025 is month index 9 of 2025
            utc(2025 + month0 / 12, (month0 % 12) as u32 + 1, 15)
        })
        .collect();
    days.extend([utc(2026, 11, 1), utc(2026, 12, 1)]);
    days
}

async fn flush(pool: &PgPool, batch: &RollupBatch) {
    let mut conn = pool.acquire().await.unwrap();
    rollups::flush_batch(&mut conn, batch).await.unwrap();
}

/// Rollups at every instant of `days`, the guild's catalogue row, and a
/// member who left on 2026-10-20 (a span and a members row).
async fn seed_guild(pool: &PgPool, guild: Snowflake, days: &[DateTime<Utc>]) {
    let mut batch = RollupBatch::default();
    for day in days {
        activity(&mut batch, guild, *day);
    }
    flush(pool, &batch).await;
    catalogue::upsert_guilds(
        pool,
        &[GuildRow {
            guild_id: guild,
            name: "g".into(),
            member_count: 2,
            available: true,
            everyone_permissions: None,
        }],
    )
    .await
    .unwrap();
    let left = SpanRow {
        guild_id: guild,
        user_id: OTHER,
        joined_at: utc(2025, 10, 1),
        left_at: Some(utc(2026, 10, 20)),
        is_rejoin: false,
    };
    let present = SpanRow {
        user_id: MEMBER,
        left_at: None,
        ..left.clone()
    };
    catalogue::upsert_spans(pool, &[left.clone(), present.clone()])
        .await
        .unwrap();
    let members: Vec<MemberRow> = [left, present]
        .into_iter()
        .map(|s| MemberRow {
            guild_id: guild,
            user_id: s.user_id,
            is_bot: false,
            joined_at: Some(s.joined_at),
            left_at: s.left_at,
            join_count: 1,
        })
        .collect();
    catalogue::upsert_members(pool, &members).await.unwrap();
    if let (Some(first), Some(last)) = (days.first(), days.last()) {
        pulse_jobs::queue(pool, &weekly_job(guild, *first), *last)
            .await
            .unwrap();
    }
    let mut tx = pool.begin().await.unwrap();
    settings::set_tracking(&mut tx, guild, ADMIN, true)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // A dashboard revoke and a session live through every run here.
    let generation = dashboard::revoke(pool, guild, run_at()).await.unwrap();
    let mut hash = [0u8; 32];
    hash[..8].copy_from_slice(&guild.0.to_be_bytes());
    let session = dashboard::StoredSession {
        guild_id: guild,
        user_id: ADMIN,
        generation,
        sees_private: true,
        expires_at: run_at() + Duration::days(30),
    };
    let opened = dashboard::open_session(pool, &hash, run_at(), &hash, session, run_at())
        .await
        .unwrap();
    assert!(opened);
}

/// A weekly Pulse Report job of the week from `start`.
fn weekly_job(guild: Snowflake, start: DateTime<Utc>) -> NewJob {
    NewJob {
        guild_id: guild,
        period_start: start,
        period_end: start + Duration::days(7),
        channel_id: CHANNEL,
        timezone: "UTC".to_owned(),
    }
}

async fn set_window(pool: &PgPool, guild: Snowflake, days: i32) {
    let mut tx = pool.begin().await.unwrap();
    settings::set_retention_days(&mut tx, guild, ADMIN, days)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_while_the_ingester_flushes_blocks_neither() {
    let db = TestDatabase::create().await;
    let pool = &db.pool;
    seed_guild(pool, SHORT, &fourteen_months()).await;
    set_window(pool, SHORT, 30).await;
    seed_guild(pool, DEFAULT, &[utc(2026, 12, 1)]).await;

    // A flush of the other guild's current hour is open (uncommitted)
    // while the job starts: it holds row locks and the rollups' write lock.
    let mut open = pool.begin().await.unwrap();
    let mut live = RollupBatch::default();
    activity(&mut live, DEFAULT, utc(2026, 12, 2));
    rollups::flush_batch(&mut open, &live).await.unwrap();
    let job = tokio::spawn({
        let pool = pool.clone();
        async move { retention::run(&pool, policy(), run_at()).await }
    });
    // The job gets as far as detaching the first expired partition, which
    // waits for the open flush to end.
    while statements_waiting_for_locks(pool, "alter table ").await == 0 {
        assert!(
            !job.is_finished(),
            "the job ended before detaching: {job:?}"
        );
        tokio::task::yield_now().await;
    }
    // Meanwhile another flush starts and commits: the pending detach takes
    // no lock that holds writers back (a plain DROP TABLE of the partition
    // would queue an exclusive lock on the rollup and block this flush).
    // It writes the next day's message by a third member: two flushes
    // adding to the same member (`member_daily`, `member_totals`) wait for
    // each other, as the ingester's never do (one flush at a time per
    // shard, a guild on one shard).
    let mut next = RollupBatch::default();
    next.add_message(MessageFacts {
        guild_id: DEFAULT,
        hour: Hour::containing(utc(2026, 12, 3)),
        channel_id: CHANNEL,
        thread_parent_id: None,
        author_id: Snowflake(33),
        author_kind: AuthorKind::Member,
        attachments: 0,
        embeds: 0,
        stickers: 0,
    });
    let mut tx = pool.begin().await.unwrap();
    rollups::flush_batch(&mut tx, &next).await.unwrap();
    tx.commit().await.unwrap();
    open.commit().await.unwrap();
    let report = job.await.unwrap().unwrap().expect("the day's run");

    assert!(report.failures.is_empty(), "{report:?}");
    // 12 partitions: the six rollups of October and November 2025.
    assert_eq!(report.partitions_dropped.len(), 12, "{report:?}");
    for table in ["message_rollup_202510", "guild_hourly_202511"] {
        assert!(!table_exists(pool, table).await, "{table}");
    }
    assert!(table_exists(pool, "message_rollup_202512").await);
    // SHORT kept 1 December 2026 (inside 30 days) and lost everything
    // before 2 November 2026 in the per-member tables: of the 16 instants,
    // the 14 from December 2025 on were in kept partitions, 12 of them
    // (15 Dec 2025 to 15 Oct 2026, and 1 Nov 2026) before the horizon.
    let short = guild_row_counts(pool, SHORT).await;
    assert_eq!(short["message_rollup"], 2, "15 Nov and 1 Dec 2026");
    assert_eq!(short["reaction_rollup"], 2);
    assert_eq!(short["voice_rollup"], 2);
    assert_eq!(short["pre_tracking_reactions"], 2, "by the message's time");
    assert_eq!(short["membership_spans"], 1, "the span that ended 20 Oct");
    assert_eq!(short["members"], 1, "the member who left 20 Oct");
    // Guild-wide totals stay to the global horizon (12 hours from Dec 2025).
    assert_eq!(short["guild_hourly"], 14);
    assert_eq!(
        report.trimmed,
        vec![(
            SHORT,
            Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap(),
            12 * 3 + 14 + 2
        )]
    );
    assert_eq!(
        retention::removed_before(pool, SHORT).await.unwrap(),
        Some(Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap())
    );
    // Both flushes of the other guild are there, untouched.
    let other = guild_row_counts(pool, DEFAULT).await;
    assert_eq!(other["message_rollup"], 3);
    assert_eq!(other["guild_hourly"], 3);
    assert_eq!(
        other["membership_spans"], 2,
        "its span ended inside 90 days"
    );
}

#[tokio::test]
async fn a_second_run_does_nothing_and_of_two_concurrent_runs_one_does_the_work() {
    let db = TestDatabase::create().await;
    let pool = &db.pool;
    seed_guild(pool, SHORT, &fourteen_months()).await;
    set_window(pool, SHORT, 30).await;
    let (a, b) = tokio::join!(
        retention::run(pool, policy(), run_at()),
        retention::run(pool, policy(), run_at() + Duration::hours(1)),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.is_some() != b.is_some(), "exactly one run claims the day");
    let done = a.or(b).unwrap();
    assert_eq!(done.partitions_dropped.len(), 12);
    let after = guild_row_counts(pool, SHORT).await;
    assert_eq!(
        retention::run(pool, policy(), run_at() + Duration::hours(5))
            .await
            .unwrap(),
        None,
        "the same UTC day again"
    );
    let next_day = retention::run(pool, policy(), run_at() + Duration::days(1))
        .await
        .unwrap()
        .expect("the next day's run");
    assert!(next_day.partitions_dropped.is_empty());
    assert!(next_day.trimmed.is_empty(), "{next_day:?}");
    assert_eq!(guild_row_counts(pool, SHORT).await, after);
}

#[tokio::test]
async fn a_trim_in_batches_smaller_than_the_backlog_removes_all_of_it_and_nothing_else() {
    let db = TestDatabase::create().await;
    let pool = &db.pool;
    // Five old hours and one inside the window; batches of two rows.
    let mut days: Vec<DateTime<Utc>> = (1..=5).map(|d| utc(2026, 10, d)).collect();
    days.push(utc(2026, 11, 20));
    seed_guild(pool, SHORT, &days).await;
    let horizon = Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap();
    let deleted = retention::trim_member_rows(pool, SHORT, horizon, 2)
        .await
        .unwrap();
    // 5 rows in each of the three rollups and of the live reactions to
    // old messages, the span and the member that ended on 20 October.
    assert_eq!(deleted, 5 * 4 + 2);
    let rows = guild_row_counts(pool, SHORT).await;
    assert_eq!(
        (
            rows["message_rollup"],
            rows["reaction_rollup"],
            rows["voice_rollup"],
            rows["pre_tracking_reactions"]
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(
        rows["guild_hourly"], 6,
        "guild-wide totals are not per member"
    );
}

/// In Asia/Kolkata the local day of 15 November 2026 runs from 18:30Z on
/// the 14th: a horizon at midnight UTC on the 15th cuts it. The channel
/// daily rows of days before it go, and the cut day's become the sums of
/// the hourly rows it keeps (its last hour too), as a rebuild says.
#[tokio::test]
async fn the_local_day_the_horizon_cuts_keeps_channel_daily_rows_of_the_hours_it_keeps() {
    use shared::db::{channel_daily, daily};
    let db = TestDatabase::create().await;
    let pool = &db.pool;
    {
        let mut conn = pool.acquire().await.unwrap();
        settings::set_timezone(&mut conn, SHORT, ADMIN, "Asia/Kolkata")
            .await
            .unwrap();
    }
    let at = |d: u32, h: u32| Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap();
    seed_guild(pool, SHORT, &[at(10, 10), at(14, 20), at(15, 10)]).await;
    let horizon = at(15, 0);
    retention::trim_member_rows(pool, SHORT, horizon, 2)
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let kept = channel_daily::channel_days(&mut conn, SHORT).await.unwrap();
    let day = Utc.with_ymd_and_hms(2026, 11, 14, 18, 30, 0).unwrap();
    let messages: Vec<_> = kept
        .messages
        .iter()
        .map(|d| (d.day_start, d.messages, d.last_hour))
        .collect();
    assert_eq!(messages, [(day, 1, Some(at(15, 10)))]);
    let reactions: Vec<_> = kept
        .reactions
        .iter()
        .map(|d| (d.day_start, d.added))
        .collect();
    assert_eq!(reactions, [(day, 1)]);
    let voice: Vec<_> = kept
        .voice
        .iter()
        .map(|d| (d.day_start, d.seconds))
        .collect();
    assert_eq!(voice, [(day, 60)]);
    daily::rebuild_all_daily(&mut *conn, SHORT).await.unwrap();
    assert_eq!(
        channel_daily::channel_days(&mut conn, SHORT).await.unwrap(),
        kept
    );
}

#[tokio::test]
async fn coverage_and_gaps_past_the_global_horizon_are_deleted() {
    let db = TestDatabase::create().await;
    let pool = &db.pool;
    seed_guild(pool, DEFAULT, &[utc(2026, 12, 1)]).await;
    let (old, kept) = (utc(2025, 11, 20), utc(2026, 11, 20));
    let checkpoint = shared::db::ingest::ShardCheckpoint {
        shard_id: 0,
        shard_total: 1,
        session_id: None,
        sequence: None,
        resume_url: None,
    };
    shared::db::ingest::save_checkpoint(pool, &checkpoint, None)
        .await
        .unwrap();
    shared::db::ingest::record_coverage(
        pool,
        0,
        1,
        &[Hour::containing(old), Hour::containing(kept)],
    )
    .await
    .unwrap();
    for at in [old, kept] {
        shared::db::ingest::record_gaps(
            pool,
            &[DEFAULT],
            at,
            at + Duration::hours(1),
            "resume refused",
        )
        .await
        .unwrap();
    }
    let report = retention::run(pool, policy(), run_at())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        report.coverage_deleted, 2,
        "the hour and the gap of November 2025"
    );
    let far = utc(2020, 1, 1);
    let left = shared::db::ingest::covered_hours(pool, 0, 1, far, run_at())
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    let gaps = shared::db::ingest::gaps(pool, DEFAULT, far, run_at())
        .await
        .unwrap();
    assert_eq!(gaps.len(), 1);
    assert_eq!(gaps[0].gap_start, kept);
}

#[tokio::test]
async fn a_guild_removed_past_the_grace_period_is_erased_and_one_that_came_back_keeps_everything() {
    let db = TestDatabase::create().await;
    let pool = &db.pool;
    let (gone, back, recent) = (Snowflake(401), Snowflake(402), Snowflake(403));
    let days = [utc(2026, 11, 20), utc(2026, 12, 1)];
    for guild in [gone, back, recent] {
        seed_guild(pool, guild, &days).await;
    }
    let removed = run_at() - Duration::days(10);
    catalogue::mark_removed(pool, &[(gone, removed), (back, removed)])
        .await
        .unwrap();
    // Within the grace period: the bot left 3 days ago.
    catalogue::mark_removed(pool, &[(recent, run_at() - Duration::days(3))])
        .await
        .unwrap();
    // `back` was re-added (GUILD_CREATE writes the guild available).
    catalogue::upsert_guilds(
        pool,
        &[GuildRow {
            guild_id: back,
            name: "g".into(),
            member_count: 2,
            available: true,
            everyone_permissions: None,
        }],
    )
    .await
    .unwrap();
    assert_eq!(catalogue::removed_at(pool, back).await.unwrap(), None);
    let kept_back = guild_row_counts(pool, back).await;
    let kept_recent = guild_row_counts(pool, recent).await;

    let report = retention::run(pool, policy(), run_at())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.erased, vec![gone]);
    let erased = guild_row_counts(pool, gone).await;
    assert!(erased.values().all(|n| *n == 0), "{erased:?}");
    // The other two lost nothing (their rows are inside every window; the
    // run records their horizon).
    let mut expected_back = kept_back;
    expected_back.insert("guild_retention", 1);
    assert_eq!(guild_row_counts(pool, back).await, expected_back);
    let mut expected_recent = kept_recent;
    expected_recent.insert("guild_retention", 1);
    assert_eq!(guild_row_counts(pool, recent).await, expected_recent);
}

#[tokio::test]
async fn stored_reports_expire_after_180_days() {
    let db = TestDatabase::create().await;
    let pool = &db.pool;
    // The outbox stamps items with the database's clock: run 181 days
    // after it.
    let at = Utc::now() + Duration::days(181);
    let item = |key: &str| NewOutboxItem {
        kind: OutboxKind::Digest,
        identity_key: key.to_owned(),
        guild_id: SHORT,
        channel_id: CHANNEL,
        payload: serde_json::json!({"content": key}),
        files: Vec::new(),
        not_before: Utc::now(),
    };
    let posted = outbox::enqueue(pool, &item("posted"))
        .await
        .unwrap()
        .unwrap();
    outbox::fail_item(pool, posted, "gone").await.unwrap();
    outbox::enqueue(pool, &item("pending"))
        .await
        .unwrap()
        .unwrap();
    let key = |start: DateTime<Utc>| DigestKey {
        guild_id: SHORT,
        frequency: DigestFrequency::Daily,
        period_start: start,
    };
    let old = key(at - Duration::days(200));
    let young = key(at - Duration::days(10));
    for (k, claimed) in [
        (old, at - Duration::days(199)),
        (young, at - Duration::days(9)),
    ] {
        digests::claim(
            pool,
            k,
            k.period_start + Duration::days(1),
            claimed,
            claimed,
            DigestOutcome::SkippedNoChannel,
        )
        .await
        .unwrap();
    }
    digests::settle(pool, old, DigestOutcome::Queued, Some(posted))
        .await
        .unwrap();
    // Two ended incidents (one 181 days ago) and one still going on.
    let incident = |ended: Option<DateTime<Utc>>| Incident {
        guild_id: SHORT,
        incident_id: 0,
        kind: AlertKind::MassDelete,
        started_at: at - Duration::days(200),
        detected_at: at - Duration::days(200),
        last_event_at: at - Duration::days(200),
        ended_at: ended,
        count: 60,
        detail: IncidentDetail::MassDelete {
            single: 60,
            bulk: 0,
            channels: vec![(CHANNEL, 60)],
        },
        delivery: Delivery::NoChannel,
    };
    for ended in [
        Some(at - Duration::days(181)),
        Some(at - Duration::days(10)),
        None,
    ] {
        alerts::insert_incident(pool, &incident(ended))
            .await
            .unwrap();
    }

    // A Pulse Report (with it, the cached report of its key) and a weekly
    // report job, each 200 and 10 days old.
    for age in [200, 10] {
        let when = at - Duration::days(age);
        pulse_jobs::queue(pool, &weekly_job(SHORT, when), when)
            .await
            .unwrap();
        pulse::save(
            pool,
            &NewReport {
                guild_id: SHORT,
                period_start: when,
                period_end: when + Duration::days(7),
                provider: "openai".to_owned(),
                model: "gpt-4o-mini".to_owned(),
                prompt_version: 1,
                generated_at: when,
                shown: serde_json::json!({}),
                tokens_in: 10,
                tokens_out: 5,
            },
        )
        .await
        .unwrap();
    }

    let report = retention::run(pool, policy(), at).await.unwrap().unwrap();
    assert_eq!(
        report.reports_deleted, 5,
        "the old run, the failed item, the old incident, the old report and the old job"
    );
    assert!(outbox::find(pool, "posted").await.unwrap().is_none());
    assert!(outbox::find(pool, "pending").await.unwrap().is_some());
    let rows = guild_row_counts(pool, SHORT).await;
    assert_eq!((rows["digest_runs"], rows["alert_incidents"]), (1, 2));
    assert_eq!((rows["pulse_reports"], rows["pulse_report_jobs"]), (1, 1));
}

#[tokio::test]
async fn the_untouched_old_default_becomes_90_days_and_chosen_windows_are_clamped() {
    let db = TestDatabase::create_empty().await;
    // The schema as it was before the retention migration.
    let before = tempdir_with_migrations_before("20261203120000");
    sqlx::migrate::Migrator::new(before.as_path())
        .await
        .unwrap()
        .run(&db.pool)
        .await
        .unwrap();
    let guilds = [
        (Snowflake(1), 400),
        (Snowflake(2), 3),
        (Snowflake(3), 1000),
        (Snowflake(4), 45),
    ];
    for (guild, days) in guilds {
        let mut tx = db.pool.begin().await.unwrap();
        settings::set_retention_days(&mut tx, guild, ADMIN, days)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let _ = std::fs::remove_dir_all(&before);
    shared::db::migrate(&db.pool).await.unwrap();
    let mut kept = Vec::new();
    for (guild, _) in guilds {
        kept.push(
            settings::load(&db.pool, guild)
                .await
                .unwrap()
                .retention_days,
        );
    }
    assert_eq!(kept, [90, 7, 730, 45]);
    let mut conn = db.pool.acquire().await.unwrap();
    let defaults = settings::insert_defaults(&mut conn, Snowflake(9))
        .await
        .unwrap();
    assert_eq!(defaults, settings::GuildSettings::defaults(Snowflake(9)));
    assert_eq!(defaults.retention_days, 90);
}

/// A directory with the repository's migrations older than `version`.
fn tempdir_with_migrations_before(version: &str) -> std::path::PathBuf {
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let dir =
        std::env::temp_dir().join(format!("sp_migrations_{}_{}", std::process::id(), version));
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

/// Every table that holds a guild's rows is in the list the erase tests
/// count (so a table added later cannot be forgotten by the erase).
#[tokio::test]
async fn the_guild_tables_list_is_every_table_with_a_guild_id() {
    let db = TestDatabase::create().await;
    let tables: Vec<String> = sqlx::query_scalar(
        "select c.relname::text from pg_attribute a
         join pg_class c on c.oid = a.attrelid
         join pg_namespace n on n.oid = c.relnamespace
         where a.attname = 'guild_id' and not a.attisdropped and n.nspname = current_schema()
           and c.relkind in ('r', 'p') and not c.relispartition
         order by 1",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let mut listed: Vec<String> = shared::testing::GUILD_TABLES
        .iter()
        .map(|t| (*t).to_owned())
        .collect();
    listed.sort();
    assert_eq!(tables, listed);
}

/// Access-log entries (who analysed whom, who exported what) are kept the
/// guild's own window, like the per-member rows.
#[tokio::test]
async fn access_log_entries_expire_with_the_guilds_window() {
    use shared::db::access::{self, AccessAction, AccessEntry};
    let db = TestDatabase::create().await;
    let pool = &db.pool;
    set_window(pool, SHORT, 30).await;
    set_window(pool, DEFAULT, 90).await;
    let entry = |at: DateTime<Utc>| AccessEntry {
        at,
        actor: ADMIN,
        action: AccessAction::MemberAnalysis,
        target: Some(MEMBER),
        detail: serde_json::json!({}),
    };
    // Horizons: 2026-11-02 for SHORT, 2026-09-03 for DEFAULT.
    for (guild, day) in [
        (SHORT, utc(2026, 10, 1)),
        (SHORT, utc(2026, 11, 20)),
        (DEFAULT, utc(2026, 8, 1)),
        (DEFAULT, utc(2026, 10, 1)),
    ] {
        access::log(pool, guild, &entry(day)).await.unwrap();
    }
    let report = retention::run(pool, policy(), run_at())
        .await
        .unwrap()
        .expect("the day's run");
    assert!(report.failures.is_empty(), "{report:?}");
    let kept = |guild| async move {
        let (entries, more) = access::log_page(pool, guild, 10, 0).await.unwrap();
        assert!(!more);
        entries.iter().map(|e| e.at).collect::<Vec<_>>()
    };
    assert_eq!(kept(SHORT).await, vec![utc(2026, 11, 20)]);
    assert_eq!(kept(DEFAULT).await, vec![utc(2026, 10, 1)]);
}
