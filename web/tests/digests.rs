//! Digest runs against a real PostgreSQL: exactly once under concurrent
//! runs, reruns claim nothing, late and skipped periods, and figures read
//! with the overview's queries.

use chrono::{DateTime, Duration, TimeZone, Utc, Weekday};
use serverpulse_web::digest::{self, schedule};
use shared::Snowflake;
use shared::db::analytics;
use shared::db::digest_settings::{self, DigestFrequency, DigestSchedule};
use shared::db::digests::{self, DigestOutcome};
use shared::db::outbox::{self, OutboxState};
use shared::db::{rollups, settings};
use shared::rollup::{AuthorKind, MessageFacts, ReactionKey, RollupBatch, VoiceKey};
use shared::testing::TestDatabase;
use shared::time::Hour;

const ADMIN: Snowflake = Snowflake(7);
const CHANNEL: Snowflake = Snowflake(9000);

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

/// Digests set up at `since` through the product's own settings functions.
async fn configure(
    db: &TestDatabase,
    guild: Snowflake,
    tz: &str,
    schedule: DigestSchedule,
    channel: Option<Snowflake>,
    since: DateTime<Utc>,
) {
    let mut tx = db.pool.begin().await.unwrap();
    settings::set_tracking(&mut tx, guild, ADMIN, true)
        .await
        .unwrap();
    settings::set_timezone(&mut tx, guild, ADMIN, tz)
        .await
        .unwrap();
    settings::set_update_channel(&mut tx, guild, ADMIN, channel)
        .await
        .unwrap();
    digest_settings::set_schedule(&mut tx, guild, ADMIN, schedule, since)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

fn plan(frequency: DigestFrequency) -> DigestSchedule {
    DigestSchedule {
        frequency: Some(frequency),
        hour: 9,
        weekday: Weekday::Mon,
    }
}

/// `count` messages by each of `authors` in `channel` at `at`, and one 👍.
fn activity(
    batch: &mut RollupBatch,
    guild: Snowflake,
    at: DateTime<Utc>,
    authors: u64,
    count: u32,
) {
    activity_in(batch, guild, Hour::containing(at), authors, count);
}

/// [`activity`] in the bucket `hour` (a guild's local hour).
fn activity_in(batch: &mut RollupBatch, guild: Snowflake, hour: Hour, authors: u64, count: u32) {
    for author in 1..=authors {
        for _ in 0..count {
            batch.add_message(MessageFacts {
                guild_id: guild,
                hour,
                channel_id: Snowflake(100 + author % 2),
                thread_parent_id: None,
                author_id: Snowflake(500 + author),
                author_kind: AuthorKind::Member,
                attachments: 0,
                embeds: 0,
                stickers: 0,
            });
        }
    }
    batch.add_reaction(
        ReactionKey {
            guild_id: guild,
            hour,
            channel_id: Snowflake(100),
            user_id: Snowflake(501),
            receiver_id: Snowflake(502),
            emoji: "👍".into(),
        },
        true,
        false,
    );
    batch.add_voice_seconds(
        VoiceKey {
            guild_id: guild,
            hour,
            channel_id: Snowflake(200),
            user_id: Snowflake(501),
        },
        600,
        false,
    );
    batch.add_join(guild, hour, false, false);
}

async fn flush(db: &TestDatabase, batch: &RollupBatch) {
    let mut tx = db.pool.begin().await.unwrap();
    rollups::flush_batch(&mut tx, batch).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn concurrent_runs_claim_each_digest_once_and_a_rerun_claims_nothing() {
    let db = TestDatabase::create().await;
    let since = utc(2026, 10, 1, 0, 0);
    let guilds = [Snowflake(11), Snowflake(12), Snowflake(13)];
    configure(
        &db,
        guilds[0],
        "Europe/Berlin",
        plan(DigestFrequency::Daily),
        Some(CHANNEL),
        since,
    )
    .await;
    configure(
        &db,
        guilds[1],
        "America/St_Johns",
        plan(DigestFrequency::Weekly),
        Some(CHANNEL),
        since,
    )
    .await;
    configure(
        &db,
        guilds[2],
        "Asia/Kathmandu",
        plan(DigestFrequency::Daily),
        Some(CHANNEL),
        since,
    )
    .await;
    let mut batch = RollupBatch::default();
    for guild in guilds {
        activity(&mut batch, guild, utc(2026, 10, 25, 12, 0), 3, 4);
    }
    flush(&db, &batch).await;

    // Monday 2026-10-26 at 15:00 UTC every guild has a digest due.
    let now = utc(2026, 10, 26, 15, 0);
    let (a, b) = tokio::join!(
        digest::run_due(&db.pool, now),
        digest::run_due(&db.pool, now)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.failed.is_empty() && b.failed.is_empty());
    assert_eq!(a.queued() + b.queued(), 3, "{a:?} {b:?}");
    for guild in guilds {
        let items = outbox::of_guild(&db.pool, guild, 10).await.unwrap();
        let digests: Vec<_> = items
            .iter()
            .filter(|i| i.kind == outbox::OutboxKind::Digest)
            .collect();
        assert_eq!(digests.len(), 1, "guild {guild}");
        assert_eq!(digests[0].state, OutboxState::Pending);
        assert_eq!(digests[0].channel_id, CHANNEL);
        // A weekly digest queues its week's Pulse Report job, once too;
        // the report itself is not in the outbox before a worker wrote it.
        assert_eq!(items.len(), digests.len(), "guild {guild}: {items:?}");
        let jobs = shared::db::pulse_jobs::of_guild(&db.pool, guild)
            .await
            .unwrap();
        let weekly = guild == guilds[1];
        assert_eq!(jobs.len(), usize::from(weekly), "guild {guild}: {jobs:?}");
    }
    let rerun = digest::run_due(&db.pool, now).await.unwrap();
    assert!(rerun.claimed.is_empty(), "{rerun:?}");
    // Two workers at once: the week's report is written and queued once.
    let providers =
        serverpulse_web::pulse::providers::Providers::new(&shared::config::AiConfig::default());
    let (a, b) = tokio::join!(
        serverpulse_web::pulse::weekly::run_due(&db.pool, &providers, now),
        serverpulse_web::pulse::weekly::run_due(&db.pool, &providers, now)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.done.len() + b.done.len(), 1, "{a:?} {b:?}");
    let reports: Vec<_> = outbox::of_guild(&db.pool, guilds[1], 10)
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.kind == outbox::OutboxKind::Report)
        .collect();
    assert_eq!(reports.len(), 1);
    let later = digest::run_due(&db.pool, now + Duration::minutes(30))
        .await
        .unwrap();
    assert!(later.claimed.is_empty(), "{later:?}");
}

#[tokio::test]
async fn the_digest_shows_the_overview_figures_of_its_local_day() {
    let db = TestDatabase::create().await;
    let guild = Snowflake(21);
    configure(
        &db,
        guild,
        "Europe/Berlin",
        plan(DigestFrequency::Daily),
        Some(CHANNEL),
        utc(2026, 10, 25, 12, 0),
    )
    .await;
    // Tracked for days before: the day before the digest's is compared.
    db.set_tracking_since(guild, utc(2026, 10, 20, 0, 0)).await;
    let mut batch = RollupBatch::default();
    // Sunday 25 October (25 hours in Berlin): 23:30 UTC on the 24th is
    // already the 25th locally, 22:30 UTC on the 25th is still the 25th.
    activity(&mut batch, guild, utc(2026, 10, 24, 22, 30), 2, 3);
    activity(&mut batch, guild, utc(2026, 10, 25, 22, 30), 3, 5);
    // Outside: the 24th (local) and the 26th (local).
    activity(&mut batch, guild, utc(2026, 10, 24, 21, 30), 1, 7);
    activity(&mut batch, guild, utc(2026, 10, 25, 23, 30), 1, 11);
    flush(&db, &batch).await;

    let report = digest::run_due(&db.pool, utc(2026, 10, 26, 8, 0))
        .await
        .unwrap();
    assert_eq!(report.claimed.len(), 1);
    let (key, outcome) = report.claimed[0];
    assert_eq!(outcome, DigestOutcome::Queued);
    let tz: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
    let from = serverpulse_web::period::local_midnight(
        chrono::NaiveDate::from_ymd_opt(2026, 10, 25).unwrap(),
        tz,
    );
    assert_eq!(key.period_start, from);
    let to = from + Duration::hours(25);
    let totals = analytics::guild_totals(&db.pool, guild, from, to, analytics::Bots::LeftOut)
        .await
        .unwrap();
    assert_eq!(totals.messages, 2 * 3 + 3 * 5);
    let active = analytics::active_members(&db.pool, guild, from, to, analytics::Bots::LeftOut)
        .await
        .unwrap();

    let item = outbox::find(&db.pool, &key.identity())
        .await
        .unwrap()
        .unwrap();
    let embed = &item.payload["embeds"][0];
    assert_eq!(embed["title"], "Daily digest · Sun 25 Oct 2026");
    let field = |name: &str| {
        embed["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("no field {name}"))["value"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(field("Messages").starts_with(&format!("**{}**", totals.messages)));
    assert!(field("Active members").starts_with(&format!("**{active}**")));
    assert!(field("Joins").starts_with("**2**"));
    assert!(field("Reactions").starts_with("**2**"));
    assert!(field("Voice time").starts_with("**0h 20m 00s**"));
    assert!(field("Top members").contains("<@501>"));
    assert!(field("Most used emoji").contains("👍 2"));
    // The day before (the 24th, local) had 7 messages.
    assert!(
        field("Messages").contains("(7 before)"),
        "{}",
        field("Messages")
    );
    assert_eq!(
        item.payload["allowed_mentions"]["parse"],
        serde_json::json!([])
    );
    // Daily digests carry a chart shown as the embed's image.
    assert_eq!(item.files.len(), 1);
    assert!(item.files[0].bytes.starts_with(b"\x89PNG"));
    assert_eq!(embed["image"]["url"], "attachment://digest.png");
}

/// The first digest after tracking began: the day before was never
/// recorded, so no figure is compared with it ("no data before …"), and
/// the footer says so instead of naming it.
#[tokio::test]
async fn the_first_tracked_day_is_not_compared_with_the_day_before() {
    let db = TestDatabase::create().await;
    let guild = Snowflake(22);
    configure(
        &db,
        guild,
        "Europe/Berlin",
        plan(DigestFrequency::Daily),
        Some(CHANNEL),
        utc(2026, 10, 25, 12, 0),
    )
    .await;
    // Tracking began at local midnight of the 25th (22:00 UTC on the 24th).
    let since = utc(2026, 10, 24, 22, 0);
    db.set_tracking_since(guild, since).await;
    let mut batch = RollupBatch::default();
    activity(&mut batch, guild, utc(2026, 10, 25, 10, 30), 2, 3);
    flush(&db, &batch).await;
    let report = digest::run_due(&db.pool, utc(2026, 10, 26, 8, 0))
        .await
        .unwrap();
    assert_eq!(report.claimed.len(), 1);
    let item = outbox::find(&db.pool, &report.claimed[0].0.identity())
        .await
        .unwrap()
        .unwrap();
    let embed = &item.payload["embeds"][0];
    let field = |name: &str| {
        embed["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("no field {name}"))["value"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let no_data = format!("no data before <t:{}:f>", since.timestamp());
    assert_eq!(field("Messages"), format!("**6** · {no_data}"));
    assert_eq!(field("Active members"), format!("**2** · {no_data}"));
    for name in ["Voice time", "Reactions", "Joins", "Net growth"] {
        assert!(field(name).ends_with(&no_data), "{name}: {}", field(name));
        assert!(!field(name).contains('%') && !field(name).contains("new"));
    }
    assert_eq!(
        embed["footer"]["text"],
        "Not compared with the period before: no data before 2026-10-24 22:00 UTC · times in Europe/Berlin"
    );
}

#[tokio::test]
async fn hourly_digests_of_quiet_hours_are_recorded_not_posted() {
    let db = TestDatabase::create().await;
    let guild = Snowflake(31);
    configure(
        &db,
        guild,
        "Asia/Kathmandu",
        plan(DigestFrequency::Hourly),
        Some(CHANNEL),
        utc(2026, 10, 26, 0, 0),
    )
    .await;
    // Kathmandu is UTC+5:45: its rollup buckets start at :15 UTC, and
    // 10:20 UTC is in the one of 16:00–17:00 local (10:15–11:15 UTC).
    let bucket =
        shared::bucketing::Bucketing::named("Asia/Kathmandu").containing(utc(2026, 10, 26, 10, 20));
    assert_eq!(bucket.start(), utc(2026, 10, 26, 10, 15));
    let mut batch = RollupBatch::default();
    activity_in(&mut batch, guild, bucket, 1, 1);
    flush(&db, &batch).await;

    let quiet = digest::run_due(&db.pool, utc(2026, 10, 26, 10, 15))
        .await
        .unwrap();
    assert_eq!(quiet.claimed.last().unwrap().1, DigestOutcome::SkippedEmpty);
    assert_eq!(quiet.queued(), 0);
    let busy = digest::run_due(&db.pool, utc(2026, 10, 26, 11, 15))
        .await
        .unwrap();
    assert_eq!(
        busy.claimed,
        vec![(busy.claimed[0].0, DigestOutcome::Queued)]
    );
    let item = outbox::find(&db.pool, &busy.claimed[0].0.identity())
        .await
        .unwrap()
        .unwrap();
    assert!(item.files.is_empty(), "hourly digests have no chart");
    assert_eq!(
        item.payload["embeds"][0]["title"],
        "Hourly digest · Mon 26 Oct 16:00–17:00"
    );
}

#[tokio::test]
async fn late_runs_post_once_and_say_so_older_periods_are_recorded_as_skipped() {
    let db = TestDatabase::create().await;
    let guild = Snowflake(41);
    let no_channel = Snowflake(42);
    configure(
        &db,
        guild,
        "Europe/Berlin",
        plan(DigestFrequency::Daily),
        Some(CHANNEL),
        utc(2026, 10, 20, 12, 0),
    )
    .await;
    configure(
        &db,
        no_channel,
        "Europe/Berlin",
        plan(DigestFrequency::Daily),
        None,
        utc(2026, 10, 20, 12, 0),
    )
    .await;

    // Nothing ran from the 21st until the 26th at 20:00 UTC.
    let report = digest::run_due(&db.pool, utc(2026, 10, 26, 20, 0))
        .await
        .unwrap();
    let runs = digests::runs_of(&db.pool, guild, 20).await.unwrap();
    assert_eq!(runs[0].outcome, DigestOutcome::QueuedLate);
    assert!(runs[0].outbox_id.is_some());
    // Due on the 21st..25th at 09:00 local: five periods missed.
    assert_eq!(runs.len(), 6);
    assert!(
        runs[1..]
            .iter()
            .all(|r| r.outcome == DigestOutcome::SkippedTooLate)
    );
    let item = outbox::find(&db.pool, &runs[0].key.identity())
        .await
        .unwrap()
        .unwrap();
    let footer = item.payload["embeds"][0]["footer"]["text"]
        .as_str()
        .unwrap();
    assert!(
        footer.starts_with("Posted late: due Mon 26 Oct 09:00"),
        "{footer}"
    );

    let without = digests::runs_of(&db.pool, no_channel, 1).await.unwrap();
    assert_eq!(without[0].outcome, DigestOutcome::SkippedNoChannel);
    assert!(
        outbox::of_guild(&db.pool, no_channel, 1)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(report.queued(), 1);

    // A schedule switched on today posts nothing due before it.
    let fresh = Snowflake(43);
    configure(
        &db,
        fresh,
        "Europe/Berlin",
        plan(DigestFrequency::Daily),
        Some(CHANNEL),
        utc(2026, 10, 26, 19, 0),
    )
    .await;
    let report = digest::run_due(&db.pool, utc(2026, 10, 26, 20, 0))
        .await
        .unwrap();
    assert!(report.claimed.is_empty(), "{report:?}");
    assert_eq!(
        schedule::due(
            &plan(DigestFrequency::Daily),
            chrono_tz::Tz::UTC,
            utc(2026, 10, 26, 19, 0),
            utc(2026, 10, 27, 9, 0)
        )
        .post
        .map(|(p, _)| p.scheduled_at),
        Some(utc(2026, 10, 27, 9, 0))
    );
}

#[tokio::test]
async fn a_failing_channel_is_not_given_new_digests() {
    let db = TestDatabase::create().await;
    let guild = Snowflake(51);
    configure(
        &db,
        guild,
        "UTC",
        plan(DigestFrequency::Daily),
        Some(CHANNEL),
        utc(2026, 10, 1, 0, 0),
    )
    .await;
    let mut tx = db.pool.begin().await.unwrap();
    digest_settings::record_delivery_failure(
        &mut tx,
        guild,
        &digest_settings::DeliveryFailure {
            channel_id: CHANNEL,
            code: 50001,
            message: "Missing Access".into(),
            at: utc(2026, 10, 25, 0, 0),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let report = digest::run_due(&db.pool, utc(2026, 10, 26, 9, 0))
        .await
        .unwrap();
    // The missed periods since the 1st are recorded first, the due one last.
    assert_eq!(
        report.claimed.last().unwrap().1,
        DigestOutcome::SkippedChannelFailing
    );
    assert!(
        outbox::of_guild(&db.pool, guild, 1)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_preview_shows_the_period_in_progress_and_claims_nothing() {
    let db = TestDatabase::create().await;
    let guild = Snowflake(61);
    configure(
        &db,
        guild,
        "Europe/Berlin",
        plan(DigestFrequency::Weekly),
        Some(CHANNEL),
        utc(2026, 10, 1, 0, 0),
    )
    .await;
    let mut batch = RollupBatch::default();
    activity(&mut batch, guild, utc(2026, 10, 27, 12, 0), 2, 2);
    flush(&db, &batch).await;
    let settings = digest_settings::load(&db.pool, guild)
        .await
        .unwrap()
        .unwrap();
    let message = digest::preview(&db.pool, &settings, utc(2026, 10, 28, 12, 0))
        .await
        .unwrap()
        .expect("weekly digests are on");
    let embed = message.embeds[0].to_json();
    assert_eq!(
        embed["title"],
        "Weekly digest · Mon 26 Oct – Sun 1 Nov 2026"
    );
    assert!(
        embed["fields"][0]["value"]
            .as_str()
            .unwrap()
            .starts_with("**4**")
    );
    assert_eq!(message.files.len(), 1);
    assert!(
        digests::runs_of(&db.pool, guild, 1)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        outbox::of_guild(&db.pool, guild, 1)
            .await
            .unwrap()
            .is_empty()
    );
}

/// The digest is posted where members read it: a channel @everyone cannot
/// view is not listed, while its messages still count in the totals.
#[tokio::test]
async fn private_channels_are_counted_but_not_listed() {
    use shared::db::catalogue::{self, ChannelRow, GuildRow};
    const VIEW_CHANNEL: i64 = 1 << 10;
    let db = TestDatabase::create().await;
    let guild = Snowflake(61);
    configure(
        &db,
        guild,
        "UTC",
        plan(DigestFrequency::Daily),
        Some(CHANNEL),
        utc(2026, 11, 2, 12, 0),
    )
    .await;
    catalogue::upsert_guilds(
        &db.pool,
        &[GuildRow {
            guild_id: guild,
            name: "g".into(),
            member_count: 10,
            available: true,
            everyone_permissions: Some(VIEW_CHANNEL),
        }],
    )
    .await
    .unwrap();
    let channel = |id: u64, everyone_deny: i64| ChannelRow {
        guild_id: guild,
        channel_id: Snowflake(id),
        kind: 0,
        name: format!("c{id}"),
        parent_id: None,
        archived: false,
        archived_at: None,
        created_at: utc(2026, 1, 1, 0, 0),
        deleted_at: None,
        everyone_allow: 0,
        everyone_deny,
        owner_id: None,
        first_reply_at: None,
        first_bot_reply_at: None,
    };
    catalogue::upsert_channels(&db.pool, &[channel(100, 0), channel(101, VIEW_CHANNEL)])
        .await
        .unwrap();
    // Authors 1..=4: channel 101 (private) gets authors 1 and 3, 100 gets 2 and 4.
    let mut batch = RollupBatch::default();
    activity(&mut batch, guild, utc(2026, 11, 2, 15, 0), 4, 3);
    flush(&db, &batch).await;

    let report = digest::run_due(&db.pool, utc(2026, 11, 3, 9, 0))
        .await
        .unwrap();
    let (key, outcome) = report.claimed[0];
    assert_eq!(outcome, DigestOutcome::Queued);
    let item = outbox::find(&db.pool, &key.identity())
        .await
        .unwrap()
        .unwrap();
    let fields = item.payload["embeds"][0]["fields"].as_array().unwrap();
    let field = |name: &str| {
        fields.iter().find(|f| f["name"] == name).unwrap()["value"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(
        field("Messages").starts_with("**12**"),
        "{}",
        field("Messages")
    );
    let listed = field("Top channels");
    assert!(listed.contains("<#100>"), "{listed}");
    assert!(!listed.contains("<#101>"), "{listed}");
}
