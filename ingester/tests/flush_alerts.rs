//! Activity drops as the flush evaluates them: the hours a batch ended are
//! compared, after its rollups are written and in its transaction, with the
//! same hour of up to 4 earlier weeks. One incident spans consecutive drop
//! hours and ends at the first ordinary one; a quiet server is not paged.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serverpulse_ingester::flush;
use serverpulse_ingester::state::Sealed;
use serverpulse_ingester::state::alerts::{DropEvaluation, DropGuild};
use shared::Snowflake;
use shared::alerts::{AlertKind, AlertSettings, IncidentDetail};
use shared::bucketing::Bucketing;
use shared::db::ingest::ShardCheckpoint;
use shared::rollup::{GuildHourKey, RollupBatch};
use shared::testing::TestDatabase;
use shared::time::Hour;

const BUSY: Snowflake = Snowflake(1001);
const QUIET: Snowflake = Snowflake(1002);

fn h(hours_after: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 29, 18, 0, 0).unwrap() + Duration::hours(hours_after)
}

/// A batch holding only member messages per guild-hour.
fn messages(rows: &[(Snowflake, DateTime<Utc>, i32)]) -> RollupBatch {
    let mut batch = RollupBatch::default();
    for (guild_id, hour, n) in rows {
        batch
            .guild_hourly
            .entry(GuildHourKey {
                guild_id: *guild_id,
                hour: Hour::containing(*hour),
            })
            .or_default()
            .member_messages = *n;
    }
    batch
}

/// A sealed batch that ended `hour` (and wrote `rollups`).
fn ending(hour: DateTime<Utc>, rollups: RollupBatch) -> Sealed {
    let settings = AlertSettings::default_for(AlertKind::ActivityDrop);
    let mut sealed = Sealed {
        pending: Default::default(),
        voice_open: Vec::new(),
        checkpoint: ShardCheckpoint {
            shard_id: 0,
            shard_total: 1,
            session_id: None,
            sequence: None,
            resume_url: None,
        },
        last_event_at: Some(hour + Duration::hours(1)),
    };
    sealed.pending.rollups = rollups;
    sealed.pending.alerts.drops = Some(DropEvaluation {
        guilds: [BUSY, QUIET]
            .map(|guild_id| DropGuild {
                guild_id,
                since: Some(h(-24 * 40)),
                settings: settings.clone(),
                bucketing: Bucketing::UTC,
                hours: vec![Hour::containing(hour)],
            })
            .to_vec(),
    });
    sealed
}

#[tokio::test]
async fn consecutive_drop_hours_are_one_incident_and_a_quiet_server_is_not_paged() {
    let db = TestDatabase::create().await;
    // The same three hours in the 4 previous weeks: 40 messages an hour
    // in the busy guild, 10 in the quiet one (below the minimum of 20).
    let mut history = Vec::new();
    for week in 1..=4 {
        for hour in 0..3 {
            let at = h(hour) - Duration::days(7 * week);
            history.push((BUSY, at, 40));
            history.push((QUIET, at, 10));
        }
    }
    let mut conn = db.pool.acquire().await.expect("connection");
    shared::db::rollups::flush_batch(&mut conn, &messages(&history))
        .await
        .expect("history");
    drop(conn);

    // Hour 0: 10 messages (75 % below 40): a drop. The quiet guild has none.
    let committed = flush::commit(&db.pool, &ending(h(0), messages(&[(BUSY, h(0), 10)])))
        .await
        .expect("commit");
    assert_eq!(committed, flush::Committed::Now);
    // Hour 1: 12, still a drop; hour 2: 35, ordinary again.
    flush::commit(&db.pool, &ending(h(1), messages(&[(BUSY, h(1), 12)])))
        .await
        .expect("commit");
    let ongoing = shared::db::alerts::recent_incidents(&db.pool, BUSY, None, 10)
        .await
        .expect("incidents");
    assert_eq!(ongoing.len(), 1);
    assert_eq!(ongoing[0].ended_at, None, "two drop hours: still going on");
    flush::commit(&db.pool, &ending(h(2), messages(&[(BUSY, h(2), 35)])))
        .await
        .expect("commit");

    let found = shared::db::alerts::recent_incidents(&db.pool, BUSY, None, 10)
        .await
        .expect("incidents");
    assert_eq!(found.len(), 1, "{found:#?}");
    let i = &found[0];
    assert_eq!(i.kind, AlertKind::ActivityDrop);
    assert_eq!((i.started_at, i.detected_at), (h(0), h(1)));
    assert_eq!(i.last_event_at, h(2), "the end of the last drop hour");
    assert_eq!(i.ended_at, Some(h(3)), "ended by the first ordinary hour");
    assert_eq!(i.count, 10, "the lowest hour");
    assert_eq!(
        i.detail,
        IncidentDetail::ActivityDrop {
            hour: h(0),
            messages: 10,
            usual: 40.0,
            hours: 2,
        }
    );
    let quiet = shared::db::alerts::recent_incidents(&db.pool, QUIET, None, 10)
        .await
        .expect("incidents");
    assert!(quiet.is_empty(), "usual 10 < 20 messages/hour: {quiet:#?}");
}

/// A sealed batch holding one new join raid of `guild`.
fn raid_in(guild_id: Snowflake) -> Sealed {
    use serverpulse_ingester::state::alerts::{IncidentWrite, Ongoing};
    let mut sealed = ending(h(0), RollupBatch::default());
    sealed.pending.alerts.drops = None;
    sealed.pending.alerts.incidents.push(IncidentWrite {
        guild_id,
        kind: AlertKind::JoinRaid,
        new: true,
        ongoing: Ongoing {
            started_at: h(0),
            detected_at: h(0) + Duration::seconds(27),
            last_event_at: h(0) + Duration::seconds(27),
            ended_at: None,
            count: 10,
            detail: IncidentDetail::JoinRaid {
                young_accounts: 10,
                default_avatars: 10,
                joins_before: 0,
            },
        },
        settings: AlertSettings::default_for(AlertKind::JoinRaid),
    });
    sealed
}

#[tokio::test]
async fn an_incident_is_posted_only_to_a_set_and_working_update_channel() {
    use shared::alerts::Delivery;
    use shared::db::digest_settings::DeliveryFailure;
    let db = TestDatabase::create().await;
    let (posting, failing, unset) = (Snowflake(2001), Snowflake(2002), Snowflake(2003));
    let mut conn = db.pool.acquire().await.expect("connection");
    for guild in [posting, failing, unset] {
        shared::db::settings::set_tracking(&mut conn, guild, Snowflake(1), true)
            .await
            .expect("tracking");
    }
    for guild in [posting, failing] {
        shared::db::settings::set_update_channel(
            &mut conn,
            guild,
            Snowflake(1),
            Some(Snowflake(77)),
        )
        .await
        .expect("update channel");
    }
    let failure = DeliveryFailure {
        channel_id: Snowflake(77),
        code: 50013,
        message: "Missing Permissions".to_owned(),
        at: Utc::now(),
    };
    shared::db::digest_settings::record_delivery_failure(&mut conn, failing, &failure)
        .await
        .expect("failure");
    drop(conn);
    for guild in [posting, failing, unset] {
        flush::commit(&db.pool, &raid_in(guild))
            .await
            .expect("commit");
    }
    for (guild, delivery, items) in [
        (posting, Delivery::Posted, 1),
        (failing, Delivery::ChannelFailing, 0),
        (unset, Delivery::NoChannel, 0),
    ] {
        let found = shared::db::alerts::recent_incidents(&db.pool, guild, None, 10)
            .await
            .expect("incidents");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].delivery, delivery, "guild {guild}");
        let outbox = shared::db::outbox::of_guild(&db.pool, guild, 10)
            .await
            .expect("outbox");
        assert_eq!(outbox.len(), items, "guild {guild}");
        if let Some(item) = outbox.first() {
            assert_eq!(item.identity_key, found[0].outbox_key());
            assert_eq!(item.channel_id, Snowflake(77));
        }
    }
}

/// A guild in Asia/Kolkata, whose buckets (local hours) run from :30 to
/// :30 UTC: the flush judges the bucket 20:00–21:00 local against the same
/// bucket of earlier weeks, and the incident equals the ground truth's
/// (sim-scenario's detectors on local buckets), which a judgement per UTC
/// hour would miss (each UTC hour's usual is 15, below the minimum).
#[tokio::test]
async fn a_drop_in_a_half_hour_zone_equals_the_truth_in_local_buckets() {
    use sim_scenario::truth::{self, AlertParams, HOUR_MS};
    const MIN: i64 = 60_000;
    const WEEK: i64 = 7 * 24 * HOUR_MS;
    let start = sim_scenario::DEFAULT_START_MS;
    let mut s = sim_scenario::Script::new(1, start, 15);
    s.channel(10, 0, "general", None)
        .member(5, "ann", false, start - 1);
    let mut posts = |from: i64, n: i64| {
        for k in 0..n {
            s.message(from + k * MIN, 10, 5, 0, 0, 0);
        }
    };
    let evening = 14 * HOUR_MS + 30 * MIN;
    for w in 0..2 {
        posts(start + w * WEEK + evening, 15);
        posts(start + w * WEEK + evening + 30 * MIN, 15);
    }
    let w3 = start + 2 * WEEK + evening;
    posts(w3, 6);
    posts(w3 + 30 * MIN, 6);
    let (_, t) = s.finish();
    let bucketing = Bucketing::named("Asia/Kolkata");
    let kolkata = bucketing.tz();
    let expected = t.expected_alerts_in(&AlertParams::default(), kolkata);
    assert_eq!(expected.len(), 1, "{expected:#?}");

    let db = TestDatabase::create().await;
    let guild = Snowflake(1);
    let at = |ms: i64| DateTime::from_timestamp_millis(ms).unwrap();
    // The member messages per bucket as the ingester's rollups hold them.
    let mut rows = RollupBatch::default();
    for (bucket, n) in t.member_messages_per_bucket(1, kolkata) {
        assert_eq!(bucketing.containing(at(bucket)).start(), at(bucket));
        rows.guild_hourly
            .entry(GuildHourKey {
                guild_id: guild,
                hour: Hour::at(at(bucket)),
            })
            .or_default()
            .member_messages = n as i32;
    }
    let mut conn = db.pool.acquire().await.expect("connection");
    shared::db::rollups::flush_batch(&mut conn, &rows)
        .await
        .expect("rollups");
    drop(conn);
    // The batches that end week 3's evening bucket and the one after it.
    for bucket in [w3, w3 + HOUR_MS] {
        let mut sealed = ending(at(bucket), RollupBatch::default());
        sealed.last_event_at = Some(at(bucket + HOUR_MS));
        sealed.pending.alerts.drops = Some(DropEvaluation {
            guilds: vec![DropGuild {
                guild_id: guild,
                since: Some(at(start)),
                settings: AlertSettings::default_for(AlertKind::ActivityDrop),
                bucketing,
                hours: vec![bucketing.containing(at(bucket))],
            }],
        });
        flush::commit(&db.pool, &sealed).await.expect("commit");
    }
    let found = shared::db::alerts::recent_incidents(&db.pool, guild, None, 10)
        .await
        .expect("incidents");
    assert_eq!(found.len(), 1, "{found:#?}");
    let (i, e) = (&found[0], &expected[0]);
    let truth::IncidentDetail::ActivityDrop {
        hour_ms,
        messages,
        usual,
        hours,
        ..
    } = e.detail.clone()
    else {
        panic!("a drop: {e:?}")
    };
    assert_eq!(
        (
            i.kind,
            i.started_at,
            i.detected_at,
            i.last_event_at,
            i.ended_at,
            i.count
        ),
        (
            AlertKind::ActivityDrop,
            at(e.started_ms),
            at(e.detected_ms),
            at(e.last_event_ms),
            e.ended_ms.map(at),
            e.count as i32
        )
    );
    assert_eq!(
        i.detail,
        IncidentDetail::ActivityDrop {
            hour: at(hour_ms),
            messages,
            usual,
            hours,
        }
    );
    assert_eq!(i.started_at, at(w3), "the bucket from 14:30 UTC");
}
