//! A large guild written straight into the rollups: a year of a busy
//! community with heavy-tailed activity, without replaying events.
//!
//! The model: members join over the year (a third were there before it) and
//! some leave; 40% never post, the rest post with Pareto-distributed
//! activity (a few members write most messages), in bursts, mostly in a
//! home channel; channels are Zipf-distributed; days follow a weekly cycle
//! and a growth trend, hours an evening peak. Reactions, voice sessions
//! (evenings, a voice-active minority) and threads follow the same members.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::Context as _;
use chrono::{DateTime, Datelike as _, Duration, DurationRound as _, TimeZone as _, Utc};
use rand::distr::Distribution as _;
use rand::distr::weighted::WeightedIndex;
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use shared::Snowflake;
use shared::db::bench::{ChannelRow, MessageRollupRow, ReactionRollupRow, SpanRow, VoiceRollupRow};
use shared::rollup::GuildHourly;
use sqlx::PgPool;

use crate::profile::LargeGuild;

/// Relative message activity per UTC hour.
const MESSAGE_HOURS: [f64; 24] = [
    0.6, 0.4, 0.3, 0.2, 0.15, 0.15, 0.2, 0.3, 0.45, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2,
    1.4, 1.6, 1.7, 1.6, 1.3, 0.9,
];
/// Relative voice presence per UTC hour.
const VOICE_HOURS: [f64; 24] = [
    0.5, 0.3, 0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.5, 0.6, 0.7, 0.8, 1.0,
    1.4, 1.8, 2.0, 1.9, 1.5, 0.9,
];
const EMOJI: [(&str, f64); 8] = [
    ("👍", 5.0),
    ("❤️", 3.0),
    ("😂", 3.0),
    ("🎉", 1.0),
    ("🔥", 1.0),
    ("👀", 0.5),
    ("pulse:1180000000000000901", 1.0),
    ("kekw:1180000000000000902", 0.6),
];

/// `(text channel index, author, is a bot)` of one hour's messages.
type CellKey = (usize, Snowflake, bool);
/// Messages, attachments, embeds, stickers.
type CellCounts = (i32, i32, i32, i32);

/// What the command benchmark needs to know about the seeded guild.
#[derive(Debug, Clone)]
pub struct SeededGuild {
    pub guild_id: Snowflake,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The busiest text channel (`#general`).
    pub busiest_channel: Snowflake,
    /// The member with the most messages.
    pub top_member: Snowflake,
    pub messages: i64,
    pub report: Value,
}

struct User {
    id: Snowflake,
    weight: f64,
    voice_weight: f64,
    home: usize,
    joined: DateTime<Utc>,
    left: Option<DateTime<Utc>>,
}

fn snowflake(at: DateTime<Utc>, low: u64) -> Snowflake {
    Snowflake(sim_scenario::snowflake_at(at.timestamp_millis(), low))
}

/// Pareto with index `alpha` and minimum 1.
fn pareto(rng: &mut ChaCha8Rng, alpha: f64) -> f64 {
    let u: f64 = rng.random_range(0.0..1.0);
    (1.0 - u).powf(-1.0 / alpha)
}

/// Writes the guild and returns where it is. `end` is the end of the
/// current hour, so "last 24 hours" covers seeded data.
pub async fn seed_large_guild(pool: &PgPool, size: LargeGuild) -> anyhow::Result<SeededGuild> {
    let started = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(50_000);
    let end = Utc::now().duration_trunc(Duration::hours(1))? + Duration::hours(1);
    let start = end - Duration::days(i64::from(size.days));
    let created = start - Duration::days(400);
    let guild_id = snowflake(created - Duration::days(1), 7);

    // Channels: two categories, ~12% voice, the rest text (one
    // announcement channel, one forum), plus threads under busy channels.
    let voice_count = (size.channels / 8).max(1) as usize;
    let text_count = (size.channels as usize).saturating_sub(voice_count).max(1);
    let category_text = snowflake(created, 1);
    let category_voice = snowflake(created, 2);
    let mut channels = vec![
        ChannelRow {
            channel_id: category_text,
            kind: 4,
            name: "Text".into(),
            parent_id: None,
            created_at: created,
        },
        ChannelRow {
            channel_id: category_voice,
            kind: 4,
            name: "Voice".into(),
            parent_id: None,
            created_at: created,
        },
    ];
    let mut text = Vec::new();
    for i in 0..text_count {
        let (kind, name) = match i {
            0 => (0, "general".to_owned()),
            1 => (5, "announcements".to_owned()),
            2 => (15, "forum".to_owned()),
            3 => (0, "bot-commands".to_owned()),
            _ => (0, format!("chat-{i}")),
        };
        let id = snowflake(created + Duration::minutes(i as i64 + 1), 100 + i as u64);
        channels.push(ChannelRow {
            channel_id: id,
            kind,
            name,
            parent_id: Some(category_text),
            created_at: id.created_at(),
        });
        text.push(id);
    }
    let mut voice = Vec::new();
    for i in 0..voice_count {
        let id = snowflake(created + Duration::hours(i as i64 + 1), 300 + i as u64);
        channels.push(ChannelRow {
            channel_id: id,
            kind: if i == voice_count - 1 && voice_count > 2 {
                13
            } else {
                2
            },
            name: format!("voice-{i}"),
            parent_id: Some(category_voice),
            created_at: id.created_at(),
        });
        voice.push(id);
    }
    // Threads: 3 under each of the five busiest text channels (not 3, the
    // bot channel), opened during the year.
    let mut threads: HashMap<usize, Vec<Snowflake>> = HashMap::new();
    let mut thread_rows = 0;
    for (c, parent) in text.iter().enumerate().take(6).filter(|(c, _)| *c != 3) {
        for k in 0..3 {
            let opened = start + Duration::days(rng.random_range(0..i64::from(size.days).max(1)));
            let id = snowflake(opened, 500 + (c * 3 + k) as u64);
            channels.push(ChannelRow {
                channel_id: id,
                kind: 11,
                name: format!("thread-{c}-{k}"),
                parent_id: Some(*parent),
                created_at: opened,
            });
            threads.entry(c).or_default().push(id);
            thread_rows += 1;
        }
    }

    // Channel popularity: Zipf over text channels; the bot channel is for bots.
    let channel_weights: Vec<f64> = (0..text.len())
        .map(|i| {
            if i == 3 && text.len() > 4 {
                0.0
            } else {
                1.0 / (i as f64 + 1.0).powf(1.1)
            }
        })
        .collect();
    let channel_pick = WeightedIndex::new(&channel_weights).context("channel weights")?;

    // Members: `size.members` present at the end; 12% more joined and left.
    let leavers = size.members as usize * 12 / 100;
    let total_users = size.members as usize + leavers;
    let span_secs = (end - start).num_seconds();
    let mut users = Vec::with_capacity(total_users);
    for i in 0..total_users {
        let joined = if rng.random_bool(0.35) {
            created + Duration::seconds(rng.random_range(0..(start - created).num_seconds()))
        } else {
            // More joins later in the year: a growing server.
            let x: f64 = rng.random_range(0.0f64..1.0).sqrt();
            start + Duration::seconds((x * span_secs as f64) as i64)
        };
        let left = (i >= size.members as usize).then(|| {
            let remaining = (end - joined).num_seconds().max(2);
            joined + Duration::seconds(rng.random_range(1..remaining))
        });
        let weight = if rng.random_bool(0.4) {
            0.0
        } else {
            pareto(&mut rng, 1.16)
        };
        let voice_weight = if rng.random_bool(0.15) {
            pareto(&mut rng, 1.5)
        } else {
            0.0
        };
        users.push(User {
            id: snowflake(joined.min(end - Duration::seconds(1)), 1_000 + i as u64),
            weight,
            voice_weight,
            home: channel_pick.sample(&mut rng),
            joined,
            left,
        });
    }
    let bots = [snowflake(created, 900), snowflake(created, 901)];

    // Daily totals: weekly cycle, growth, noise; scaled to `size.messages`.
    let days = size.days as usize;
    let day_weights: Vec<f64> = (0..days)
        .map(|d| {
            let day = start + Duration::days(d as i64);
            let weekend = matches!(day.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun);
            let trend = 0.7 + 0.6 * d as f64 / days.max(1) as f64;
            let noise: f64 = rng.random_range(0.8..1.2);
            trend * noise * if weekend { 1.25 } else { 1.0 }
        })
        .collect();
    let weight_sum: f64 = day_weights.iter().sum();
    let hour_sum: f64 = MESSAGE_HOURS.iter().sum();
    let voice_hour_max = VOICE_HOURS.iter().cloned().fold(0.0, f64::max);
    let emoji_pick = WeightedIndex::new(EMOJI.iter().map(|e| e.1)).context("emoji weights")?;
    let voice_channel_weights: Vec<f64> =
        (0..voice.len()).map(|i| 1.0 / (i as f64 + 1.0)).collect();

    let mut message_rows: Vec<MessageRollupRow> = Vec::new();
    let mut reaction_rows: Vec<ReactionRollupRow> = Vec::new();
    let mut voice_rows: Vec<VoiceRollupRow> = Vec::new();
    let mut peak_rows: Vec<(DateTime<Utc>, Snowflake, i32)> = Vec::new();
    let mut hourly: HashMap<DateTime<Utc>, GuildHourly> = HashMap::new();
    let mut per_author: HashMap<Snowflake, i64> = HashMap::new();
    let mut messages_total = 0i64;
    let mut first_message: HashMap<Snowflake, DateTime<Utc>> = HashMap::new();

    for (d, day_weight) in day_weights.iter().enumerate() {
        let day = start + Duration::days(d as i64);
        let midday = day + Duration::hours(12);
        let present: Vec<usize> = (0..users.len())
            .filter(|&i| users[i].joined <= midday && users[i].left.is_none_or(|l| l > midday))
            .collect();
        let posters: Vec<usize> = present
            .iter()
            .copied()
            .filter(|&i| users[i].weight > 0.0)
            .collect();
        let talkers: Vec<usize> = present
            .iter()
            .copied()
            .filter(|&i| users[i].voice_weight > 0.0)
            .collect();
        let Ok(author_pick) = WeightedIndex::new(posters.iter().map(|&i| users[i].weight)) else {
            continue;
        };
        let talker_pick = WeightedIndex::new(talkers.iter().map(|&i| users[i].voice_weight)).ok();
        let day_total = (size.messages as f64 * day_weight / weight_sum).round() as i64;
        for (h, share) in MESSAGE_HOURS.iter().enumerate() {
            let hour = day + Duration::hours(h as i64);
            let mut remaining = (day_total as f64 * share / hour_sum).round() as i64;
            let totals = hourly.entry(hour).or_default();
            let mut cells: HashMap<CellKey, CellCounts> = HashMap::new();
            // Bots: 3% of the hour's messages, in the bot channel.
            let bot_messages = remaining * 3 / 100;
            if bot_messages > 0 && text.len() > 4 {
                let bot = bots[h % 2];
                cells.insert(
                    (3, bot, true),
                    (bot_messages as i32, 0, bot_messages as i32 / 2, 0),
                );
                remaining -= bot_messages;
            }
            while remaining > 0 {
                let u: f64 = rng.random_range(0.0..1.0);
                let burst = (1 + (-(1.0 - u).ln() * 2.5) as i64).min(remaining).max(1);
                let user = &users[posters[author_pick.sample(&mut rng)]];
                let channel = if rng.random_bool(0.7) {
                    user.home
                } else {
                    channel_pick.sample(&mut rng)
                };
                let cell = cells.entry((channel, user.id, false)).or_default();
                cell.0 += burst as i32;
                for _ in 0..burst {
                    cell.1 += i32::from(rng.random_bool(0.08));
                    cell.2 += i32::from(rng.random_bool(0.04));
                    cell.3 += i32::from(rng.random_bool(0.02));
                }
                remaining -= burst;
                first_message.entry(user.id).or_insert(hour);
            }
            for ((channel, author, bot), (messages, attachments, embeds, stickers)) in cells {
                // 10% of a channel's messages go to one of its threads.
                let (channel_id, parent) = match threads.get(&channel) {
                    Some(list) if !bot && rng.random_bool(0.1) => {
                        let thread = list[rng.random_range(0..list.len())];
                        if thread.created_at() <= hour {
                            (thread, Some(text[channel]))
                        } else {
                            (text[channel], None)
                        }
                    }
                    _ => (text[channel], None),
                };
                message_rows.push(MessageRollupRow {
                    hour,
                    channel_id,
                    author_id: author,
                    thread_parent_id: parent,
                    author_kind: i16::from(bot),
                    messages,
                    attachments,
                    embeds,
                    stickers,
                });
                totals.messages += messages;
                if !bot {
                    totals.member_messages += messages;
                    *per_author.entry(author).or_default() += i64::from(messages);
                }
                if parent.is_some() {
                    totals.thread_messages += messages;
                }
                totals.attachments += attachments;
                totals.embeds += embeds;
                totals.stickers += stickers;
                messages_total += i64::from(messages);
            }

            // Reactions: 5% of messages get one, from members to authors.
            let reactions = totals.member_messages / 20;
            let mut reaction_cells: HashMap<(Snowflake, Snowflake, Snowflake, usize), (i32, i32)> =
                HashMap::new();
            for _ in 0..reactions {
                let giver = users[posters[author_pick.sample(&mut rng)]].id;
                let receiver = &users[posters[author_pick.sample(&mut rng)]];
                let cell = reaction_cells
                    .entry((
                        text[receiver.home],
                        giver,
                        receiver.id,
                        emoji_pick.sample(&mut rng),
                    ))
                    .or_default();
                cell.0 += 1;
                cell.1 += i32::from(rng.random_bool(0.05));
            }
            for ((channel_id, user_id, receiver_id, emoji), (added, removed)) in reaction_cells {
                reaction_rows.push(ReactionRollupRow {
                    hour,
                    channel_id,
                    user_id,
                    receiver_id,
                    emoji: EMOJI[emoji].0,
                    added,
                    removed,
                });
                totals.reactions_added += added;
                totals.reactions_removed += removed;
            }

            // Voice: up to ~12 people in the main channel at the evening peak.
            if let Some(pick) = &talker_pick {
                for (v, channel_weight) in voice_channel_weights.iter().enumerate() {
                    let expected = 12.0 * channel_weight * VOICE_HOURS[h] / voice_hour_max
                        * (size.members as f64 / 50_000.0).sqrt();
                    let people = (expected * rng.random_range(0.5..1.5)).round() as usize;
                    if people == 0 {
                        continue;
                    }
                    let mut seen = std::collections::HashSet::new();
                    for _ in 0..people {
                        let user = users[talkers[pick.sample(&mut rng)]].id;
                        if !seen.insert(user) {
                            continue;
                        }
                        let seconds = rng.random_range(300..=3600);
                        voice_rows.push(VoiceRollupRow {
                            hour,
                            channel_id: voice[v],
                            user_id: user,
                            seconds,
                        });
                        totals.voice_seconds += i64::from(seconds);
                    }
                    peak_rows.push((hour, voice[v], seen.len() as i32));
                }
            }
        }
    }

    // Membership spans, and joins and leaves per hour.
    let mut spans = Vec::with_capacity(users.len() + bots.len());
    for u in &users {
        let first = first_message.get(&u.id).copied().filter(|f| *f >= u.joined);
        spans.push(SpanRow {
            user_id: u.id,
            is_bot: false,
            joined_at: u.joined,
            left_at: u.left,
            is_rejoin: false,
            first_message_at: first,
        });
        let join_hour = u.joined.duration_trunc(Duration::hours(1))?;
        if join_hour >= start {
            hourly.entry(join_hour).or_default().joins += 1;
        }
        if let Some(left) = u.left.filter(|l| *l >= start) {
            hourly
                .entry(left.duration_trunc(Duration::hours(1))?)
                .or_default()
                .leaves += 1;
        }
    }
    for bot in bots {
        spans.push(SpanRow {
            user_id: bot,
            is_bot: true,
            joined_at: created,
            left_at: None,
            is_rejoin: false,
            first_message_at: None,
        });
    }
    for (_, parent_threads) in threads.iter() {
        for t in parent_threads {
            if let Ok(hour) = t.created_at().duration_trunc(Duration::hours(1)) {
                hourly.entry(hour).or_default().threads_created += 1;
            }
        }
    }
    let mut hourly: Vec<(DateTime<Utc>, GuildHourly)> = hourly.into_iter().collect();
    hourly.sort_by_key(|(h, _)| *h);
    let generate_secs = started.elapsed().as_secs_f64();

    // Write: months' partitions first, then COPY on two connections.
    let written = Instant::now();
    let mut months = Vec::new();
    let mut month = Utc
        .with_ymd_and_hms(start.year(), start.month(), 1, 0, 0, 0)
        .single()
        .context("month start")?;
    while month < end {
        months.push(month);
        month = if month.month() == 12 {
            Utc.with_ymd_and_hms(month.year() + 1, 1, 1, 0, 0, 0)
        } else {
            Utc.with_ymd_and_hms(month.year(), month.month() + 1, 1, 0, 0, 0)
        }
        .single()
        .context("next month")?;
    }
    {
        let mut conn = pool.acquire().await?;
        shared::db::rollups::ensure_partitions(&mut conn, &months).await?;
        shared::db::bench::seed_catalogue(
            &mut conn,
            guild_id,
            "Benchmark Megaguild",
            size.members as i32,
            &channels,
        )
        .await?;
        shared::db::bench::seed_members(&mut conn, guild_id, &spans).await?;
        shared::db::bench::enable_tracking(&mut conn, &[guild_id], created).await?;
        shared::db::bench::copy_guild_hourly(&mut conn, guild_id, &hourly).await?;
        shared::db::bench::copy_voice_peaks(&mut conn, guild_id, &peak_rows).await?;
        shared::db::bench::copy_voice_rollup(&mut conn, guild_id, &voice_rows).await?;
    }
    let halves = message_rows.len() / 2;
    let (first_half, second_half) = message_rows.split_at(halves);
    let reaction_half = reaction_rows.len() / 2;
    let (first_reactions, second_reactions) = reaction_rows.split_at(reaction_half);
    let copy_half = |messages: &'_ [MessageRollupRow], reactions: &'_ [ReactionRollupRow]| {
        let pool = pool.clone();
        let (messages, reactions) = (messages.to_vec(), reactions.to_vec());
        async move {
            let mut conn = pool.acquire().await?;
            for chunk in messages.chunks(200_000) {
                shared::db::bench::copy_message_rollup(&mut conn, guild_id, chunk).await?;
            }
            for chunk in reactions.chunks(200_000) {
                shared::db::bench::copy_reaction_rollup(&mut conn, guild_id, chunk).await?;
            }
            anyhow::Ok(())
        }
    };
    let (a, b) = tokio::join!(
        tokio::spawn(copy_half(first_half, first_reactions)),
        tokio::spawn(copy_half(second_half, second_reactions))
    );
    a.context("copy task")??;
    b.context("copy task")??;
    {
        let mut conn = pool.acquire().await?;
        // Per-member daily totals from the hourly rows just written, by the
        // product's own rebuild (what the migration and a timezone change
        // run), so the commands read the tables the ingester maintains.
        shared::db::daily::rebuild_all_daily(&mut *conn, guild_id).await?;
        shared::db::bench::analyze(&mut conn).await?;
    }
    let write_secs = written.elapsed().as_secs_f64();

    let mut ranked: Vec<(Snowflake, i64)> = per_author.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let top_member = ranked.first().map_or(users[0].id, |r| r.0);
    let active_members = ranked.len();
    let report = json!({
        "guild_id": guild_id.to_string(),
        "members": size.members,
        "members_who_left": leavers,
        "days": size.days,
        "channels": text.len() + voice.len(),
        "text_channels": text.len(),
        "voice_channels": voice.len(),
        "threads": thread_rows,
        "messages": messages_total,
        "members_who_posted": active_members,
        "rows": {
            "message_rollup": message_rows.len(),
            "reaction_rollup": reaction_rows.len(),
            "voice_rollup": voice_rows.len(),
            "voice_peak_rollup": peak_rows.len(),
            "guild_hourly": hourly.len(),
            "membership_spans": spans.len(),
        },
        "generate_secs": generate_secs,
        "write_secs": write_secs,
    });
    Ok(SeededGuild {
        guild_id,
        start,
        end,
        busiest_channel: text[0],
        top_member,
        messages: messages_total,
        report,
    })
}
