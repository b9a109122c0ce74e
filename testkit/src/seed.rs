//! A guild's data as the ingester would have written it, from a scenario's
//! ground truth, through the product's own writes.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use shared::Snowflake;
use shared::bucketing::Bucketing;
use shared::db::catalogue::{self, ChannelRow, FirstMessage, GuildRow, MemberRow, SpanRow};
use shared::rollup::{
    AuthorKind, ChannelHourKey, MessageFacts, ReactionKey, RollupBatch, VoiceKey,
};
use shared::time::Hour;
use sim_scenario::truth::{self, GroundTruth};
use sqlx::PgPool;

/// The instant `ms` milliseconds after the epoch.
pub fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .expect("valid instant")
}

/// The hour holding the instant `ms`.
pub fn hour(ms: i64) -> Hour {
    Hour::containing(at(ms))
}

/// The ground truth's author kind as the rollups store it.
pub fn author_kind(kind: truth::AuthorKind) -> AuthorKind {
    match kind {
        truth::AuthorKind::Member => AuthorKind::Member,
        truth::AuthorKind::Bot => AuthorKind::Bot,
        truth::AuthorKind::Webhook => AuthorKind::Webhook,
    }
}

/// Writes what the ingester would have written for `guild` after living
/// through the whole scenario with tracking on: rollups and guild_hourly
/// (through `flush_batch`), and the catalogue (guild, channels, members,
/// membership spans with their first messages, through the catalogue
/// upserts). Tracking is enabled and the timezone set.
pub async fn seed_guild(pool: &PgPool, truth: &GroundTruth, guild: u64, timezone: &str) {
    let mut conn = pool.acquire().await.expect("connection");
    let bucketing = Bucketing::named(timezone);
    shared::db::rollups::flush_batch(&mut conn, &rollups(truth, guild, bucketing))
        .await
        .expect("flush the seeded rollups");
    let catalogue = Catalogue::of(truth, guild);
    catalogue::upsert_guilds(&mut *conn, &catalogue.guilds)
        .await
        .expect("seed the guild");
    catalogue::upsert_channels(&mut *conn, &catalogue.channels)
        .await
        .expect("seed the channels");
    catalogue::upsert_spans(&mut *conn, &catalogue.spans)
        .await
        .expect("seed the membership spans");
    catalogue::record_first_messages(&mut *conn, &catalogue.first_messages)
        .await
        .expect("seed the first messages");
    catalogue::upsert_members(&mut *conn, &catalogue.members)
        .await
        .expect("seed the members");
    drop(conn);
    enable_tracking(pool, guild, timezone).await;
}

/// Tracking on for `guild` and its timezone set (as by an admin with id 1).
pub async fn enable_tracking(pool: &PgPool, guild: u64, timezone: &str) {
    let mut tx = pool.begin().await.expect("transaction");
    shared::db::settings::set_tracking(&mut tx, Snowflake(guild), Snowflake(1), true)
        .await
        .expect("enable tracking");
    shared::db::settings::set_timezone(&mut tx, Snowflake(guild), Snowflake(1), timezone)
        .await
        .expect("set the timezone");
    tx.commit().await.expect("commit");
}

/// Every counted event of `guild` in the truth, as one batch, in the
/// guild's buckets (its local hours, as the ingester writes them).
fn rollups(truth: &GroundTruth, guild: u64, bucketing: Bucketing) -> RollupBatch {
    let hour = |ms: i64| bucketing.containing(at(ms));
    let g = Snowflake(guild);
    let mut batch = RollupBatch::default();
    for m in truth.messages.iter().filter(|m| m.guild_id == guild) {
        batch.add_message(MessageFacts {
            guild_id: g,
            hour: hour(m.at_ms),
            channel_id: Snowflake(m.channel_id),
            thread_parent_id: m.thread_parent_id.map(Snowflake),
            author_id: Snowflake(m.author_id),
            author_kind: author_kind(m.author_kind),
            attachments: m.attachments as i32,
            embeds: m.embeds as i32,
            stickers: m.stickers as i32,
        });
    }
    for r in truth.reactions.iter().filter(|r| r.guild_id == guild) {
        batch.add_reaction(
            ReactionKey {
                guild_id: g,
                hour: hour(r.at_ms),
                channel_id: Snowflake(r.channel_id),
                user_id: Snowflake(r.user_id),
                receiver_id: Snowflake(r.message_author_id.unwrap_or(0)),
                emoji: r.emoji.clone(),
            },
            r.added,
            r.user_is_bot,
        );
    }
    for (key, seconds) in voice_seconds(truth, guild, bucketing) {
        let (channel, user, bucket) = key;
        batch.add_voice_seconds(
            VoiceKey {
                guild_id: g,
                hour: bucket,
                channel_id: Snowflake(channel),
                user_id: Snowflake(user),
            },
            seconds,
            truth.user_is_bot(guild, user),
        );
    }
    let member_peaks = voice_peaks(truth, guild, bucketing, false);
    for ((channel, bucket), peak) in voice_peaks(truth, guild, bucketing, true) {
        let members = member_peaks.get(&(channel, bucket)).copied().unwrap_or(0);
        batch.observe_voice_concurrency(
            ChannelHourKey {
                guild_id: g,
                hour: bucket,
                channel_id: Snowflake(channel),
            },
            peak,
            members,
        );
    }
    for d in truth.deletions.iter().filter(|d| d.guild_id == guild) {
        batch.add_deletions(
            ChannelHourKey {
                guild_id: g,
                hour: hour(d.at_ms),
                channel_id: Snowflake(d.channel_id),
            },
            d.count as i32,
            d.bulk,
        );
    }
    for m in truth.members.iter().filter(|m| m.guild_id == guild) {
        if !m.initial {
            batch.add_join(g, hour(m.joined_ms), m.rejoin, m.is_bot);
        }
        if let Some(left) = m.left_ms {
            batch.add_leave(g, hour(left), m.is_bot);
        }
    }
    for t in truth.threads.iter().filter(|t| t.guild_id == guild) {
        if let Some(created) = t.created_ms {
            batch.add_thread_created(g, hour(created));
        }
    }
    batch
}

/// The guild's voice intervals (ms), bots included or not, cut at its
/// bucket edges: `(channel, user, bucket, from, to)`.
fn voice_pieces(
    truth: &GroundTruth,
    guild: u64,
    bucketing: Bucketing,
    bots: bool,
) -> Vec<(u64, u64, Hour, i64, i64)> {
    let mut pieces = Vec::new();
    for v in truth.voice.iter().filter(|v| v.guild_id == guild) {
        if v.user_is_bot && !bots {
            continue;
        }
        let mut t = v.start_ms;
        while t < v.end_ms {
            let bucket = bucketing.containing(at(t));
            let end = v.end_ms.min(bucketing.end(bucket).timestamp_millis());
            pieces.push((v.channel_id, v.user_id, bucket, t, end));
            t = end;
        }
    }
    pieces
}

/// Voice seconds per channel, user and bucket (voice events fall on whole
/// seconds, and so do bucket edges).
fn voice_seconds(
    truth: &GroundTruth,
    guild: u64,
    bucketing: Bucketing,
) -> BTreeMap<(u64, u64, Hour), i32> {
    let mut out = BTreeMap::new();
    for (channel, user, bucket, from, to) in voice_pieces(truth, guild, bucketing, true) {
        *out.entry((channel, user, bucket)).or_insert(0) += ((to - from) / 1000) as i32;
    }
    out
}

/// Peak concurrent users per channel and bucket (intervals are half-open:
/// a leave and a join at one instant are never together).
fn voice_peaks(
    truth: &GroundTruth,
    guild: u64,
    bucketing: Bucketing,
    bots: bool,
) -> BTreeMap<(u64, Hour), i32> {
    let mut edges: BTreeMap<(u64, Hour), Vec<(i64, i32)>> = BTreeMap::new();
    for (channel, _, bucket, from, to) in voice_pieces(truth, guild, bucketing, bots) {
        let e = edges.entry((channel, bucket)).or_default();
        e.push((from, 1));
        e.push((to, -1));
    }
    edges
        .into_iter()
        .map(|(key, mut list)| {
            list.sort();
            let (mut now, mut peak) = (0, 0);
            for (_, d) in list {
                now += d;
                peak = peak.max(now);
            }
            (key, peak)
        })
        .collect()
}

/// The catalogue rows of `guild` at the end of the scenario.
struct Catalogue {
    guilds: Vec<GuildRow>,
    channels: Vec<ChannelRow>,
    members: Vec<MemberRow>,
    spans: Vec<SpanRow>,
    first_messages: Vec<FirstMessage>,
}

/// VIEW_CHANNEL: the seeded @everyone role has it, a private channel's
/// @everyone overwrite denies it.
const VIEW_CHANNEL: i64 = 1 << 10;

impl Catalogue {
    fn of(truth: &GroundTruth, guild: u64) -> Self {
        let g = Snowflake(guild);
        let guilds = vec![GuildRow {
            guild_id: g,
            name: "seeded".to_owned(),
            member_count: truth.member_count_at(guild, truth.end_ms, true) as i32,
            available: true,
            everyone_permissions: Some(VIEW_CHANNEL),
        }];
        // A thread archived by the end of the scenario, and when.
        let archived_at = |channel: u64| {
            truth
                .threads
                .iter()
                .find(|t| t.guild_id == guild && t.thread_id == channel)
                .and_then(|t| t.archived_ms)
        };
        // Threads: their owner, and their first replies as the ingester
        // records them (every message of the scenario counted).
        let owner = |channel: u64| {
            truth
                .threads
                .iter()
                .find(|t| t.guild_id == guild && t.thread_id == channel)
                .map(|t| Snowflake(t.owner_id))
        };
        let replies = truth.thread_first_replies(&truth::Scope::new(guild, i64::MIN, i64::MAX));
        let channels = truth
            .channels_of(guild)
            .into_iter()
            .map(|c| ChannelRow {
                guild_id: g,
                channel_id: Snowflake(c.channel_id),
                kind: i16::from(c.kind),
                name: c.name.clone(),
                parent_id: c.parent_id.map(Snowflake),
                archived: archived_at(c.channel_id).is_some(),
                archived_at: archived_at(c.channel_id).map(at),
                created_at: at(c.created_ms.unwrap_or(truth.start_ms - truth::DAY_MS)),
                deleted_at: c.deleted_ms.map(at),
                everyone_allow: 0,
                // Threads follow their parent and private threads are never
                // public, so only a private channel carries the overwrite.
                everyone_deny: if c.everyone_can_view || matches!(c.kind, 10..=12) {
                    0
                } else {
                    VIEW_CHANNEL
                },
                owner_id: owner(c.channel_id),
                first_reply_at: replies.get(&c.channel_id).and_then(|r| r.member_ms).map(at),
                first_bot_reply_at: replies.get(&c.channel_id).and_then(|r| r.bot_ms).map(at),
            })
            .collect();
        let stints: Vec<_> = truth
            .members
            .iter()
            .filter(|m| m.guild_id == guild)
            .collect();
        let mut spans = Vec::new();
        let mut first_messages = Vec::new();
        // Per user: the latest stint and the number of stints.
        let mut last: BTreeMap<u64, (&truth::MembershipFact, i32)> = BTreeMap::new();
        for m in &stints {
            let entry = last.entry(m.user_id).or_insert((m, 0));
            entry.1 += 1;
            if m.joined_ms >= entry.0.joined_ms {
                entry.0 = m;
            }
            spans.push(SpanRow {
                guild_id: g,
                user_id: Snowflake(m.user_id),
                joined_at: at(m.joined_ms),
                left_at: m.left_ms.map(at),
                is_rejoin: m.rejoin,
            });
            let first_message = truth
                .messages
                .iter()
                .filter(|x| {
                    x.guild_id == guild
                        && x.author_id == m.user_id
                        && x.at_ms >= m.joined_ms
                        && m.left_ms.is_none_or(|l| x.at_ms < l)
                })
                .map(|x| x.at_ms)
                .min();
            if let Some(first) = first_message {
                first_messages.push(FirstMessage {
                    guild_id: g,
                    user_id: Snowflake(m.user_id),
                    joined_at: at(m.joined_ms),
                    at: at(first),
                });
            }
        }
        let members = last
            .into_iter()
            .map(|(user, (m, joins))| MemberRow {
                guild_id: g,
                user_id: Snowflake(user),
                is_bot: m.is_bot,
                joined_at: Some(at(m.joined_ms)),
                left_at: m.left_ms.map(at),
                join_count: joins,
            })
            .collect();
        Self {
            guilds,
            channels,
            members,
            spans,
            first_messages,
        }
    }
}
