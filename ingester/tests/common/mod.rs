//! Shared by the ingester's end-to-end tests: a simulator serving a
//! generated scenario, a fresh database with tracking enabled, and the
//! expected rollups computed from the generator's ground truth (its facts
//! and queries, never the ingester's aggregation).

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use discord_sim::SimHandle;
use serverpulse_testkit::seed::{author_kind, hour};
use shared::Snowflake;
use shared::rollup::{
    ChannelHourKey, DeletionCounts, GuildHourKey, GuildHourly, MessageCounts, MessageKey,
    ReactionCounts, ReactionKey, RollupBatch, VoiceKey,
};
use shared::testing::TestDatabase;
use shared::time::Hour;
use sim_scenario::truth::{self, GroundTruth, Scope};
use sim_scenario::{Scenario, ScenarioSize};

pub mod alerts;

pub struct Harness {
    pub sim: SimHandle,
    pub truth: GroundTruth,
}

pub const TOKEN: &str = "ingester-test-token";

/// A scenario starting at the next UTC midnight, so that tracking enabled
/// now (`tracking_since` = now) covers all of it.
pub fn scenario(seed: u64, size: ScenarioSize) -> (Scenario, GroundTruth) {
    let day = 86_400_000;
    let start = (Utc::now().timestamp_millis() / day + 1) * day;
    sim_scenario::generate_from(seed, size, start)
}

pub async fn start_sim(scenario: Scenario, speedup: Option<f64>) -> SimHandle {
    let mut config = serverpulse_testkit::sim::config(TOKEN);
    // Text frames: zstd in an unoptimised test build costs more than it shows.
    config.gateway.compression = discord_sim::Compression::Never;
    if let Some(speedup) = speedup {
        config.gateway.pacing = discord_sim::Pacing::ScenarioClock { speedup };
    }
    serverpulse_testkit::sim::start(config, scenario).await
}

/// A fresh database with tracking enabled for `guilds`.
pub async fn database(guilds: &[u64]) -> TestDatabase {
    let db = TestDatabase::create().await;
    let mut conn = db.pool.acquire().await.expect("connection");
    for g in guilds {
        shared::db::settings::set_tracking(&mut conn, Snowflake(*g), Snowflake(1), true)
            .await
            .expect("enable tracking");
    }
    db
}

pub fn env(db_url: &str, gateway: &str, shards: &str, total: u32) -> Vec<(&'static str, String)> {
    serverpulse_testkit::ingester::env(TOKEN, db_url, gateway, shards, total)
}

pub fn config(
    db_url: &str,
    gateway: &str,
    shards: &str,
    total: u32,
) -> shared::config::IngesterConfig {
    serverpulse_testkit::ingester::config(TOKEN, db_url, gateway, shards, total)
}

/// Waits until every shard has handed out all its dispatches and the
/// database's checkpoint has reached the last frame of the shard's latest
/// session: everything sent is committed.
pub async fn wait_until_committed(sim: &SimHandle, db: &TestDatabase, total: u32, limit: Duration) {
    serverpulse_testkit::ingester::wait_until_committed(sim, &db.pool, total, limit).await;
}

/// The rollups of one guild as the ground truth says they must be, for a
/// guild tracked from before the scenario with every channel collected.
///
/// Attachments and embeds are zero: the ingester does not request
/// MESSAGE_CONTENT, and without it Discord (and the simulator) send other
/// people's messages with `attachments` and `embeds` empty.
pub fn expected(t: &GroundTruth, guild: u64) -> RollupBatch {
    let g = Snowflake(guild);
    let scope = Scope::new(guild, t.start_ms, t.end_ms).including_bots();
    let mut out = RollupBatch::default();
    let mut hourly: HashMap<GuildHourKey, GuildHourly> = HashMap::new();
    fn totals_in(
        hourly: &mut HashMap<GuildHourKey, GuildHourly>,
        g: Snowflake,
        ms: i64,
    ) -> &mut GuildHourly {
        hourly
            .entry(GuildHourKey {
                guild_id: g,
                hour: hour(ms),
            })
            .or_default()
    }
    macro_rules! totals {
        ($ms:expr) => {
            totals_in(&mut hourly, g, $ms)
        };
    }

    for m in t.messages.iter().filter(|m| m.guild_id == guild) {
        let key = MessageKey {
            guild_id: g,
            hour: hour(m.at_ms),
            channel_id: Snowflake(m.channel_id),
            author_id: Snowflake(m.author_id),
        };
        let row = out.messages.entry(key).or_insert_with(|| MessageCounts {
            thread_parent_id: m.thread_parent_id.map(Snowflake),
            author_kind: author_kind(m.author_kind),
            ..MessageCounts::default()
        });
        row.messages += 1;
        row.stickers += m.stickers as i32;
        let h = totals!(m.at_ms);
        h.messages += 1;
        h.member_messages += i32::from(m.author_kind == truth::AuthorKind::Member);
        h.thread_messages += i32::from(m.thread_parent_id.is_some());
        h.stickers += m.stickers as i32;
    }
    // The fact-built cells agree with the truth's own finest grain.
    let cells = t.message_cells(&scope);
    assert_eq!(cells.len(), out.messages.len());
    for ((channel, author, h), c) in &cells {
        let row = out.messages[&MessageKey {
            guild_id: g,
            hour: hour(*h),
            channel_id: Snowflake(*channel),
            author_id: Snowflake(*author),
        }];
        assert_eq!(
            (row.messages as u64, row.stickers as u64),
            (c.messages, c.stickers)
        );
    }

    for r in t.reactions.iter().filter(|r| r.guild_id == guild) {
        let key = ReactionKey {
            guild_id: g,
            hour: hour(r.at_ms),
            channel_id: Snowflake(r.channel_id),
            user_id: Snowflake(r.user_id),
            receiver_id: Snowflake(r.message_author_id.unwrap_or(0)),
            emoji: r.emoji.clone(),
        };
        let row: &mut ReactionCounts = out.reactions.entry(key).or_default();
        let h = totals!(r.at_ms);
        if r.added {
            row.added += 1;
            h.reactions_added += 1;
            h.bot_reactions_added += i32::from(r.user_is_bot);
        } else {
            row.removed += 1;
            h.reactions_removed += 1;
            h.bot_reactions_removed += i32::from(r.user_is_bot);
        }
    }

    for ((channel, user, h), seconds) in t.voice_seconds(&scope) {
        out.voice_seconds.insert(
            VoiceKey {
                guild_id: g,
                hour: hour(h),
                channel_id: Snowflake(channel),
                user_id: Snowflake(user),
            },
            seconds as i32,
        );
        totals!(h).voice_seconds += seconds;
        if t.user_is_bot(guild, user) {
            totals!(h).bot_voice_seconds += seconds;
        }
    }
    let members_only = Scope::new(guild, t.start_ms, t.end_ms);
    for ((channel, h), peak) in t.peak_concurrent(&members_only) {
        out.member_voice_peaks.insert(
            ChannelHourKey {
                guild_id: g,
                hour: hour(h),
                channel_id: Snowflake(channel),
            },
            peak as i32,
        );
    }
    for ((channel, h), peak) in t.peak_concurrent(&scope) {
        out.voice_peaks.insert(
            ChannelHourKey {
                guild_id: g,
                hour: hour(h),
                channel_id: Snowflake(channel),
            },
            peak as i32,
        );
    }

    // People in voice in the guild at once (bots left out), per hour: the
    // same sweep as the truth's channel peaks, over the guild's intervals.
    let mut pieces: BTreeMap<i64, Vec<(i64, i64)>> = BTreeMap::new();
    for v in t
        .voice
        .iter()
        .filter(|v| v.guild_id == guild && !v.user_is_bot)
    {
        let (s, e) = (v.start_ms.max(t.start_ms), v.end_ms.min(t.end_ms));
        let mut h = s.div_euclid(3_600_000) * 3_600_000;
        while h < e {
            pieces
                .entry(h)
                .or_default()
                .push((s.max(h), e.min(h + 3_600_000)));
            h += 3_600_000;
        }
    }
    for (h, list) in pieces {
        let mut edges: Vec<(i64, i32)> =
            list.iter().flat_map(|(s, e)| [(*s, 1), (*e, -1)]).collect();
        edges.sort();
        let (mut now, mut peak) = (0, 0);
        for (_, d) in edges {
            now += d;
            peak = peak.max(now);
        }
        if peak > 0 {
            out.guild_voice_peaks.insert(
                GuildHourKey {
                    guild_id: g,
                    hour: hour(h),
                },
                peak,
            );
        }
    }

    for d in t.deletions.iter().filter(|d| d.guild_id == guild) {
        let key = ChannelHourKey {
            guild_id: g,
            hour: hour(d.at_ms),
            channel_id: Snowflake(d.channel_id),
        };
        let row: &mut DeletionCounts = out.deletions.entry(key).or_default();
        if d.bulk {
            row.bulk_deleted += d.count as i32;
        } else {
            row.deleted += d.count as i32;
        }
        totals!(d.at_ms).deletions += d.count as i32;
    }

    for m in t.members.iter().filter(|m| m.guild_id == guild) {
        if !m.initial {
            // Growth per hour, from the truth's own rules (rejoins included).
            let one = Scope::new(guild, m.joined_ms, m.joined_ms + 1)
                .including_bots()
                .user(m.user_id);
            let growth = t.growth(&one);
            let h = totals!(m.joined_ms);
            h.joins += 1;
            h.rejoins += growth.rejoins as i32;
            if m.is_bot {
                h.bot_joins += 1;
                h.bot_rejoins += growth.rejoins as i32;
            }
        }
        if let Some(l) = m.left_ms {
            let h = totals!(l);
            h.leaves += 1;
            h.bot_leaves += i32::from(m.is_bot);
        }
    }
    for th in t.threads.iter().filter(|th| th.guild_id == guild) {
        if let Some(c) = th.created_ms {
            totals!(c).threads_created += 1;
        }
    }
    out.guild_hourly = hourly.into_iter().collect();
    out
}

/// Hours (by start) of `coverage_gaps` of a guild.
pub async fn gap_hours(db: &TestDatabase, guild: u64) -> BTreeSet<Hour> {
    let gaps = shared::db::ingest::gaps(
        &db.pool,
        Snowflake(guild),
        Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0).unwrap(),
    )
    .await
    .expect("read gaps");
    let mut hours = BTreeSet::new();
    for gap in gaps {
        let mut h = Hour::containing(gap.gap_start);
        while h.start() <= gap.gap_end {
            hours.insert(h);
            h = h.next();
        }
    }
    hours
}

fn diff<
    K: std::fmt::Debug + Eq + std::hash::Hash + Clone,
    V: std::fmt::Debug + PartialEq,
    S: std::hash::BuildHasher,
>(
    what: &str,
    expected: &HashMap<K, V, S>,
    actual: &HashMap<K, V, S>,
    keep: impl Fn(&K) -> bool,
) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in expected.iter().filter(|(k, _)| keep(k)) {
        match actual.get(k) {
            Some(a) if a == v => {}
            other => out.push(format!("{what} {k:?}: expected {v:?}, got {other:?}")),
        }
    }
    for (k, v) in actual.iter().filter(|(k, _)| keep(k)) {
        if !expected.contains_key(k) {
            out.push(format!("{what} {k:?}: not expected, got {v:?}"));
        }
    }
    out
}

/// Asserts that the stored rollups of `guild` equal the expected ones in
/// every hour not in `excluded`.
pub async fn assert_guild_equals_truth(
    db: &TestDatabase,
    t: &GroundTruth,
    guild: u64,
    excluded: &BTreeSet<Hour>,
) {
    assert_guild_equals(db, guild, &expected(t, guild), excluded).await;
}

/// Asserts that the stored rollups of `guild` equal `expected` in every
/// hour not in `excluded`.
pub async fn assert_guild_equals(
    db: &TestDatabase,
    guild: u64,
    expected: &RollupBatch,
    excluded: &BTreeSet<Hour>,
) {
    let mut conn = db.pool.acquire().await.expect("connection");
    let actual = shared::db::rollups::load_guild(&mut conn, Snowflake(guild))
        .await
        .expect("load rollups");
    let ok = |h: &Hour| !excluded.contains(h);
    let mut problems = Vec::new();
    problems.extend(diff("message", &expected.messages, &actual.messages, |k| {
        ok(&k.hour)
    }));
    problems.extend(diff(
        "reaction",
        &expected.reactions,
        &actual.reactions,
        |k| ok(&k.hour),
    ));
    problems.extend(diff(
        "voice",
        &expected.voice_seconds,
        &actual.voice_seconds,
        |k| ok(&k.hour),
    ));
    problems.extend(diff(
        "peak",
        &expected.voice_peaks,
        &actual.voice_peaks,
        |k| ok(&k.hour),
    ));
    problems.extend(diff(
        "member peak",
        &expected.member_voice_peaks,
        &actual.member_voice_peaks,
        |k| ok(&k.hour),
    ));
    problems.extend(diff(
        "guild voice peak",
        &expected.guild_voice_peaks,
        &actual.guild_voice_peaks,
        |k| ok(&k.hour),
    ));
    problems.extend(diff(
        "deletion",
        &expected.deletions,
        &actual.deletions,
        |k| ok(&k.hour),
    ));
    problems.extend(diff(
        "hourly",
        &expected.guild_hourly,
        &actual.guild_hourly,
        |k| ok(&k.hour),
    ));
    let total = problems.len();
    problems.truncate(15);
    assert!(
        total == 0,
        "guild {guild}: {total} differences (excluding {} gap hours), first ones:\n{}",
        excluded.len(),
        problems.join("\n")
    );
    assert!(
        !expected.messages.is_empty(),
        "the comparison is not vacuous"
    );
}

/// Messages per hour in one channel (and its threads), as stored.
pub fn stored_messages_in(batch: &RollupBatch, channel: u64) -> BTreeMap<Hour, i32> {
    let mut out = BTreeMap::new();
    for (k, v) in &batch.messages {
        if k.channel_id == Snowflake(channel) || v.thread_parent_id == Some(Snowflake(channel)) {
            *out.entry(k.hour).or_default() += v.messages;
        }
    }
    out
}
