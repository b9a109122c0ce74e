//! Schema, rollup upserts, id storage, settings and ingestion state against a
//! real PostgreSQL (a fresh database per test).

use chrono::{Duration, TimeZone, Utc};
use shared::Snowflake;
use shared::db::{self, ingest, rollups, settings};
use shared::rollup::*;
use shared::testing::TestDatabase;
use shared::time::Hour;

fn hour(day: u32, h: u32) -> Hour {
    Hour::containing(Utc.with_ymd_and_hms(2026, 10, day, h, 0, 0).unwrap())
}

fn message(guild: u64, h: Hour, channel: u64, author: u64) -> MessageFacts {
    MessageFacts {
        guild_id: Snowflake(guild),
        hour: h,
        channel_id: Snowflake(channel),
        thread_parent_id: None,
        author_id: Snowflake(author),
        author_kind: AuthorKind::Member,
        attachments: 1,
        embeds: 2,
        stickers: 0,
    }
}

/// A batch touching every table, with a few keys each.
fn sample_batch(guild: u64, author_offset: u64) -> RollupBatch {
    let mut batch = RollupBatch::default();
    for (i, h) in [hour(3, 10), hour(3, 11), hour(31, 23)]
        .into_iter()
        .enumerate()
    {
        let i = i as u64;
        batch.add_message(message(guild, h, 100 + i, 500 + author_offset));
        batch.add_message(MessageFacts {
            thread_parent_id: Some(Snowflake(100)),
            author_kind: AuthorKind::Bot,
            ..message(guild, h, 900, 600)
        });
        batch.add_reaction(
            ReactionKey {
                guild_id: Snowflake(guild),
                hour: h,
                channel_id: Snowflake(100),
                user_id: Snowflake(500 + author_offset),
                receiver_id: Snowflake(501),
                emoji: if i == 0 {
                    "👍".into()
                } else {
                    "party:123456".into()
                },
            },
            i != 2,
            i == 1,
        );
        let voice = VoiceKey {
            guild_id: Snowflake(guild),
            hour: h,
            channel_id: Snowflake(200),
            user_id: Snowflake(500),
        };
        batch.add_voice_seconds(voice, 600, i == 1);
        let channel_hour = ChannelHourKey {
            guild_id: Snowflake(guild),
            hour: h,
            channel_id: Snowflake(200),
        };
        batch.observe_voice_concurrency(channel_hour, 2 + author_offset as i32, 1);
        batch.add_deletions(channel_hour, 3, i == 1);
        batch.add_join(Snowflake(guild), h, i == 0, i == 1);
        batch.add_leave(Snowflake(guild), h, i == 2);
        batch.add_thread_created(Snowflake(guild), h);
    }
    batch
}

async fn flush(db: &TestDatabase, batch: &RollupBatch) {
    let mut tx = db.pool.begin().await.unwrap();
    rollups::flush_batch(&mut tx, batch).await.unwrap();
    tx.commit().await.unwrap();
}

async fn load(db: &TestDatabase, guild: u64) -> RollupBatch {
    let mut conn = db.pool.acquire().await.unwrap();
    rollups::load_guild(&mut conn, Snowflake(guild))
        .await
        .unwrap()
}

fn without_event_count(mut batch: RollupBatch) -> RollupBatch {
    batch.events = 0;
    batch
}

#[tokio::test]
async fn migrations_apply_to_an_empty_database_and_rerun_as_a_no_op() {
    let db = TestDatabase::create_empty().await;
    db::migrate(&db.pool).await.unwrap();
    let applied: Vec<(i64, bool)> =
        sqlx::query_as("select version, success from _sqlx_migrations order by version")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(applied.len(), db::MIGRATOR.iter().count());
    assert!(applied.iter().all(|(_, ok)| *ok));
    let tables: i64 = sqlx::query_scalar(
        "select count(*) from pg_class where relname in
         ('guild_settings','channels','members','membership_spans','message_rollup','reaction_rollup',
          'voice_rollup','voice_peak_rollup','deletion_rollup','guild_hourly','shard_checkpoints',
          'shard_coverage','coverage_gaps','settings_audit','guild_collected_channels','guilds')",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(tables, 16);

    db::migrate(&db.pool).await.unwrap();
    let again: Vec<(i64, bool)> =
        sqlx::query_as("select version, success from _sqlx_migrations order by version")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(again, applied, "a second run applies nothing");
}

#[tokio::test]
async fn no_column_can_hold_message_content() {
    let db = TestDatabase::create().await;
    let suspicious: Vec<(String, String)> = sqlx::query_as(
        "select table_name::text, column_name::text from information_schema.columns
         where table_schema = 'public' and column_name ~* '(content|body|text|attachment_url|embed_json)'",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(suspicious.is_empty(), "{suspicious:?}");
}

#[tokio::test]
async fn one_batch_lands_exactly() {
    let db = TestDatabase::create().await;
    let batch = sample_batch(1, 0);
    flush(&db, &batch).await;
    assert_eq!(load(&db, 1).await, without_event_count(batch));
    assert_eq!(
        load(&db, 2).await,
        RollupBatch::default(),
        "other guilds untouched"
    );
}

#[tokio::test]
async fn two_batches_into_the_same_keys_merge() {
    let db = TestDatabase::create().await;
    let first = sample_batch(1, 0);
    let second = sample_batch(1, 1);
    flush(&db, &first).await;
    flush(&db, &second).await;
    let mut expected = first.clone();
    expected.merge(second.clone());
    let stored = load(&db, 1).await;
    assert_eq!(stored, without_event_count(expected));

    // Spot-check the arithmetic on rows both batches hit.
    let totals = stored.guild_hourly[&GuildHourKey {
        guild_id: Snowflake(1),
        hour: hour(3, 10),
    }];
    assert_eq!(
        (
            totals.messages,
            totals.member_messages,
            totals.thread_messages,
            totals.voice_seconds,
            totals.joins,
            totals.rejoins
        ),
        (4, 2, 2, 1200, 2, 2)
    );
    let peak = stored.voice_peaks[&ChannelHourKey {
        guild_id: Snowflake(1),
        hour: hour(3, 10),
        channel_id: Snowflake(200),
    }];
    assert_eq!(peak, 3, "peaks keep the greatest observation");
    let bot_row = stored.messages[&MessageKey {
        guild_id: Snowflake(1),
        hour: hour(3, 11),
        channel_id: Snowflake(900),
        author_id: Snowflake(600),
    }];
    assert_eq!(
        (
            bot_row.messages,
            bot_row.embeds,
            bot_row.author_kind,
            bot_row.thread_parent_id
        ),
        (2, 4, AuthorKind::Bot, Some(Snowflake(100)))
    );
}

#[tokio::test]
async fn one_batch_with_many_keys_across_months() {
    let db = TestDatabase::create().await;
    let mut batch = RollupBatch::default();
    let start = Utc.with_ymd_and_hms(2026, 9, 20, 0, 0, 0).unwrap();
    // 60 days of hours crosses two month boundaries: partitions get created.
    for h in 0..(60 * 24) {
        let at = Hour::containing(start + Duration::hours(h));
        for author in 0..4u64 {
            batch.add_message(message(7, at, 10 + (h as u64 % 5), 1000 + author));
        }
        batch.add_voice_seconds(
            VoiceKey {
                guild_id: Snowflake(7),
                hour: at,
                channel_id: Snowflake(20),
                user_id: Snowflake(1000),
            },
            3600,
            false,
        );
    }
    assert_eq!(batch.messages.len(), 60 * 24 * 4);
    flush(&db, &batch).await;
    let stored = load(&db, 7).await;
    assert_eq!(stored, without_event_count(batch));
    let partitions: i64 = sqlx::query_scalar(
        "select count(*) from pg_inherits where inhparent = 'message_rollup'::regclass",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(partitions, 3, "September, October and November 2026");
}

#[tokio::test]
async fn voice_seconds_over_an_hour_are_refused() {
    let db = TestDatabase::create().await;
    let key = VoiceKey {
        guild_id: Snowflake(1),
        hour: hour(3, 10),
        channel_id: Snowflake(2),
        user_id: Snowflake(3),
    };
    let mut batch = RollupBatch::default();
    batch.add_voice_seconds(key, 3000, false);
    flush(&db, &batch).await;
    // A double count would push the hour past 3600 seconds: the schema says no.
    let mut tx = db.pool.begin().await.unwrap();
    let err = rollups::flush_batch(&mut tx, &batch).await.unwrap_err();
    assert!(!err.is_unavailable(), "{err}");
}

#[tokio::test]
async fn ids_above_two_to_the_63_round_trip() {
    let db = TestDatabase::create().await;
    for raw in [u64::MAX, (1u64 << 63) + 7, (1u64 << 63) - 1, 1] {
        let guild = Snowflake(raw);
        let mut batch = RollupBatch::default();
        batch.add_message(message(raw, hour(5, 5), raw - 1, raw));
        flush(&db, &batch).await;
        let stored = load(&db, raw).await;
        let key = *stored.messages.keys().next().unwrap();
        assert_eq!(
            (key.guild_id, key.channel_id, key.author_id),
            (guild, Snowflake(raw - 1), Snowflake(raw))
        );
        let loaded = settings::load(&db.pool, guild).await.unwrap();
        assert_eq!(loaded.guild_id, guild);
        let read: Snowflake = sqlx::query_scalar("select $1::bigint")
            .bind(guild)
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(read, guild);
    }
}

#[tokio::test]
async fn settings_default_to_tracking_off_and_match_the_schema() {
    let db = TestDatabase::create().await;
    let guild = Snowflake(42);
    let unsaved = settings::load(&db.pool, guild).await.unwrap();
    assert_eq!(unsaved, settings::GuildSettings::defaults(guild));
    assert!(!unsaved.tracking_enabled);
    let mut conn = db.pool.acquire().await.unwrap();
    let stored = settings::insert_defaults(&mut conn, guild).await.unwrap();
    assert_eq!(
        stored,
        settings::GuildSettings::defaults(guild),
        "code defaults equal column defaults"
    );
}

#[tokio::test]
async fn enabling_tracking_is_audited_and_notifies_the_ingester() {
    let db = TestDatabase::create().await;
    let mut listener = sqlx::postgres::PgListener::connect_with(&db.pool)
        .await
        .unwrap();
    listener.listen("serverpulse_settings").await.unwrap();

    let guild = Snowflake(u64::MAX - 5);
    let admin = Snowflake(77);
    let mut tx = db.pool.begin().await.unwrap();
    let enabled = settings::set_tracking(&mut tx, guild, admin, true)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(enabled.tracking_enabled);
    let since = enabled
        .tracking_since
        .expect("tracking_since is set when enabled");

    let note = tokio::time::timeout(std::time::Duration::from_secs(5), listener.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(note.payload().parse::<i64>().unwrap(), guild.to_db());

    // Enabling again keeps the original start; disabling clears it.
    let mut conn = db.pool.acquire().await.unwrap();
    let again = settings::set_tracking(&mut conn, guild, admin, true)
        .await
        .unwrap();
    assert_eq!(again.tracking_since, Some(since));
    let off = settings::set_tracking(&mut conn, guild, admin, false)
        .await
        .unwrap();
    assert_eq!((off.tracking_enabled, off.tracking_since), (false, None));

    assert!(
        settings::set_channel_collected(&mut conn, guild, admin, Snowflake(9), true)
            .await
            .unwrap()
    );
    assert!(
        !settings::set_channel_collected(&mut conn, guild, admin, Snowflake(9), true)
            .await
            .unwrap()
    );
    assert_eq!(
        settings::collected_channels(&db.pool, guild).await.unwrap(),
        vec![Snowflake(9)]
    );
    settings::set_collect_mode(&mut conn, guild, admin, settings::CollectMode::AllowList)
        .await
        .unwrap();
    assert_eq!(
        settings::load(&db.pool, guild).await.unwrap().collect_mode,
        settings::CollectMode::AllowList
    );

    let trail = settings::audit_trail(&db.pool, guild, 10).await.unwrap();
    let actions: Vec<_> = trail.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "collect_mode.set",
            "collect_channel.add",
            "tracking.disable",
            "tracking.enable",
            "tracking.enable"
        ]
    );
    assert!(trail.iter().all(|e| e.actor_id == admin));
    assert_eq!(trail[1].detail["channel_id"], "9");
}

#[tokio::test]
async fn checkpoints_coverage_and_gaps() {
    let db = TestDatabase::create().await;
    assert_eq!(ingest::load_checkpoint(&db.pool, 1, 4).await.unwrap(), None);
    let checkpoint = ingest::ShardCheckpoint {
        shard_id: 1,
        shard_total: 4,
        session_id: Some("abc".into()),
        sequence: Some(41),
        resume_url: Some("ws://127.0.0.1:1".into()),
    };
    let clock = hour(3, 10).start() + Duration::seconds(7);
    ingest::save_checkpoint(&db.pool, &checkpoint, Some(clock))
        .await
        .unwrap();
    let later = ingest::ShardCheckpoint {
        sequence: Some(99),
        ..checkpoint.clone()
    };
    ingest::save_checkpoint(&db.pool, &later, None)
        .await
        .unwrap();
    assert_eq!(
        ingest::load_checkpoint(&db.pool, 1, 4).await.unwrap(),
        Some(later.clone())
    );
    assert_eq!(
        ingest::load_checkpoint_at(&db.pool, 1, 4).await.unwrap(),
        Some((later, Some(clock))),
        "a checkpoint saved without a clock keeps the stored one"
    );
    assert_eq!(
        ingest::load_checkpoint(&db.pool, 1, 8).await.unwrap(),
        None,
        "shard totals are distinct"
    );

    let hours = [hour(3, 10), hour(3, 11), hour(3, 11)];
    ingest::record_coverage(&db.pool, 1, 4, &hours)
        .await
        .unwrap();
    let covered = ingest::covered_hours(&db.pool, 1, 4, hour(3, 0).start(), hour(4, 0).start())
        .await
        .unwrap();
    assert_eq!(covered, vec![hour(3, 10), hour(3, 11)]);

    let guilds = [Snowflake(5), Snowflake(6)];
    let (start, end) = (
        hour(3, 12).start(),
        hour(3, 12).start() + Duration::minutes(20),
    );
    ingest::record_gaps(&db.pool, &guilds, start, end, "resume refused")
        .await
        .unwrap();
    ingest::record_gaps(
        &db.pool,
        &guilds,
        start,
        end + Duration::minutes(5),
        "resume refused",
    )
    .await
    .unwrap();
    let gaps = ingest::gaps(
        &db.pool,
        Snowflake(5),
        hour(3, 0).start(),
        hour(4, 0).start(),
    )
    .await
    .unwrap();
    assert_eq!(gaps.len(), 1);
    assert_eq!(
        (gaps[0].gap_start, gaps[0].gap_end),
        (start, end + Duration::minutes(5))
    );
    assert!(
        ingest::gaps(
            &db.pool,
            Snowflake(5),
            hour(4, 0).start(),
            hour(5, 0).start()
        )
        .await
        .unwrap()
        .is_empty()
    );
}

/// Which channels @everyone may not view, from the @everyone role's
/// permissions and each channel's @everyone overwrite.
#[tokio::test]
async fn private_channels_follow_everyone_overwrites_and_parents() {
    use db::catalogue::{self, ChannelRow, GuildRow};
    const VIEW: i64 = 1 << 10;
    let db = TestDatabase::create().await;
    let g = Snowflake(77);
    let guild = |perms: Option<i64>| GuildRow {
        guild_id: g,
        name: "g".into(),
        member_count: 3,
        available: true,
        everyone_permissions: perms,
    };
    let at = Utc.with_ymd_and_hms(2026, 10, 3, 10, 0, 0).unwrap();
    let channel = |id: u64, kind: i16, parent: Option<u64>, allow: i64, deny: i64| ChannelRow {
        guild_id: g,
        channel_id: Snowflake(id),
        kind,
        name: format!("c{id}"),
        parent_id: parent.map(Snowflake),
        archived: false,
        archived_at: None,
        created_at: at,
        deleted_at: None,
        everyone_allow: allow,
        everyone_deny: deny,
        owner_id: None,
        first_reply_at: None,
        first_bot_reply_at: None,
    };
    catalogue::upsert_guilds(&db.pool, &[guild(Some(VIEW | 1))])
        .await
        .unwrap();
    let rows = [
        channel(1, 0, None, 0, 0),            // public
        channel(2, 0, None, 0, VIEW),         // denied: private
        channel(3, 11, Some(2), 0, 0),        // thread under a private channel
        channel(4, 11, Some(1), 0, 0),        // thread under a public one
        channel(5, 12, Some(1), 0, 0),        // private thread: never public
        channel(6, 11, Some(999), 0, 0),      // parent unknown: not public
        channel(7, 0, None, VIEW, VIEW | 64), // allow wins over deny
    ];
    catalogue::upsert_channels(&db.pool, &rows).await.unwrap();
    let private = |ids: &[u64]| ids.iter().copied().map(Snowflake).collect::<Vec<_>>();
    assert_eq!(
        catalogue::private_channels(&db.pool, g).await.unwrap(),
        private(&[2, 3, 5, 6])
    );

    // @everyone without VIEW_CHANNEL: everything without an allow is private.
    catalogue::upsert_guilds(&db.pool, &[guild(Some(1))])
        .await
        .unwrap();
    assert_eq!(
        catalogue::private_channels(&db.pool, g).await.unwrap(),
        private(&[1, 2, 3, 4, 5, 6])
    );
    // ADMINISTRATOR sees everything but private threads; an update without
    // the role's permissions keeps what is known.
    catalogue::upsert_guilds(&db.pool, &[guild(Some(8))])
        .await
        .unwrap();
    catalogue::upsert_guilds(&db.pool, &[guild(None)])
        .await
        .unwrap();
    assert_eq!(
        catalogue::private_channels(&db.pool, g).await.unwrap(),
        private(&[5, 6])
    );
    // The overwrite is removed: the channel and its thread are public again.
    catalogue::upsert_guilds(&db.pool, &[guild(Some(VIEW))])
        .await
        .unwrap();
    catalogue::upsert_channels(&db.pool, &[channel(2, 0, None, 0, 0)])
        .await
        .unwrap();
    assert_eq!(
        catalogue::private_channels(&db.pool, g).await.unwrap(),
        private(&[5, 6])
    );
    let stored = catalogue::channels_of(&db.pool, &[g]).await.unwrap();
    let seven = stored
        .iter()
        .find(|c| c.channel_id == Snowflake(7))
        .unwrap();
    assert_eq!(
        (seven.everyone_allow, seven.everyone_deny),
        (VIEW, VIEW | 64)
    );
}

/// Every connection of a binary's pool starts with the configured timeouts
/// and with PostgreSQL's JIT off (compiling a year-long partitioned read
/// cost seconds per command; see `session_options`).
#[tokio::test]
async fn pool_connections_start_with_timeouts_and_jit_off() {
    let db = TestDatabase::create().await;
    let config = shared::config::DatabaseConfig {
        url: shared::config::Secret::new(db.url.clone()),
        max_connections: 2,
        connect_timeout: std::time::Duration::from_secs(30),
        limits: shared::config::DatabaseLimits::WEB,
    };
    let pool = db::connect(&config).await.expect("connect");
    // pg_settings gives statement_timeout in milliseconds.
    let (jit, statement_timeout): (String, String) = sqlx::query_as(
        "select current_setting('jit'),
                (select setting from pg_settings where name = 'statement_timeout')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(jit, "off");
    assert_eq!(
        statement_timeout,
        shared::config::DatabaseLimits::WEB
            .statement_timeout
            .as_millis()
            .to_string()
    );
    pool.close().await;
}

/// Rollup partitions (of any month) and member_daily leave a quarter of each
/// page free, so the flush's upserts of their counters can be HOT.
#[tokio::test]
async fn rollup_partitions_and_member_daily_keep_room_for_hot_updates() {
    let db = TestDatabase::create().await;
    let mut conn = db.pool.acquire().await.unwrap();
    let months = [
        hour(3, 10).start(),
        Utc.with_ymd_and_hms(2031, 5, 1, 0, 0, 0).unwrap(),
    ];
    rollups::ensure_partitions(&mut conn, &months)
        .await
        .unwrap();
    let options: Vec<(String, Option<Vec<String>>)> = sqlx::query_as(
        "select c.relname::text, c.reloptions from pg_class c
         where c.relname in ('message_rollup_203105', 'reaction_rollup_203105', 'voice_rollup_203105',
                             'voice_peak_rollup_203105', 'deletion_rollup_203105', 'guild_hourly_203105',
                             'message_rollup_202610', 'guild_hourly_202610', 'member_daily')
         order by 1",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert_eq!(options.len(), 9, "{options:?}");
    for (table, options) in options {
        assert_eq!(options, Some(vec!["fillfactor=75".to_owned()]), "{table}");
    }
}

/// A span's first message moves only earlier; a later one leaves the row
/// as it is (no new row version, so no WAL for it).
#[tokio::test]
async fn a_later_first_message_does_not_rewrite_the_span() {
    use shared::db::catalogue::{self, FirstMessage, SpanRow};
    let db = TestDatabase::create().await;
    let joined_at = hour(3, 10).start();
    catalogue::upsert_spans(
        &db.pool,
        &[SpanRow {
            guild_id: Snowflake(1),
            user_id: Snowflake(2),
            joined_at,
            left_at: None,
            is_rejoin: false,
        }],
    )
    .await
    .unwrap();
    let first = |minutes: i64| FirstMessage {
        guild_id: Snowflake(1),
        user_id: Snowflake(2),
        joined_at,
        at: joined_at + Duration::minutes(minutes),
    };
    let stored = async || -> (String, Option<chrono::DateTime<Utc>>) {
        sqlx::query_as("select xmin::text, first_message_at from membership_spans")
            .fetch_one(&db.pool)
            .await
            .unwrap()
    };
    catalogue::record_first_messages(&db.pool, &[first(30)])
        .await
        .unwrap();
    let (version, at) = stored().await;
    assert_eq!(at, Some(joined_at + Duration::minutes(30)));
    catalogue::record_first_messages(&db.pool, &[first(40)])
        .await
        .unwrap();
    assert_eq!(
        stored().await,
        (version.clone(), at),
        "unchanged, same row version"
    );
    catalogue::record_first_messages(&db.pool, &[first(20)])
        .await
        .unwrap();
    let (newer, at) = stored().await;
    assert_eq!(at, Some(joined_at + Duration::minutes(20)));
    assert_ne!(newer, version);
}
