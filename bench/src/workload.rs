//! The ingest workload: a sim-scenario community, the same events as
//! per-event rows (baselines (a) and (b)) and as gateway frames (baseline
//! (c)), and ground-truth totals per guild.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone as _, Utc};
use serde::Serialize;
use serde_json::Value;
use shared::Snowflake;
use shared::db::bench::{EventKind, EventRow};
use sim_scenario::truth::AuthorKind;
use sim_scenario::{Dispatch, GroundTruth};

/// Figures of one guild that the ingested rollups must reproduce.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TruthTotals {
    /// Every `MESSAGE_CREATE`, bots and webhooks included.
    pub messages: i64,
    pub member_messages: i64,
    pub reactions_added: i64,
    pub reactions_removed: i64,
    /// Bots included.
    pub voice_seconds: i64,
    pub member_voice_seconds: i64,
    pub member_reactions_added: i64,
    pub member_reactions_removed: i64,
}

/// One pass over the generator's facts (its own record, not the JSON).
pub fn truth_totals(truth: &GroundTruth) -> HashMap<u64, TruthTotals> {
    let mut out: HashMap<u64, TruthTotals> = truth
        .guild_ids
        .iter()
        .map(|g| (*g, TruthTotals::default()))
        .collect();
    for m in &truth.messages {
        let t = out.entry(m.guild_id).or_default();
        t.messages += 1;
        if m.author_kind == AuthorKind::Member {
            t.member_messages += 1;
        }
    }
    for r in &truth.reactions {
        let t = out.entry(r.guild_id).or_default();
        let member = i64::from(!r.user_is_bot);
        if r.added {
            t.reactions_added += 1;
            t.member_reactions_added += member;
        } else {
            t.reactions_removed += 1;
            t.member_reactions_removed += member;
        }
    }
    for v in &truth.voice {
        let t = out.entry(v.guild_id).or_default();
        // Voice events fall on whole seconds, so the hour pieces of an
        // interval add up to exactly its length.
        let seconds = (v.end_ms - v.start_ms).div_euclid(1000);
        t.voice_seconds += seconds;
        if !v.user_is_bot {
            t.member_voice_seconds += seconds;
        }
    }
    out
}

fn id_at(value: &Value, key: &str) -> Snowflake {
    value
        .get(key)
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .map_or(Snowflake(0), Snowflake)
}

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or_else(Utc::now)
}

/// A dispatch as a per-event statistics table would store it.
pub fn event_row(dispatch: &Dispatch) -> EventRow {
    let d = &dispatch.d;
    let user_of = |key: &str| d.get(key).map_or(Snowflake(0), |u| id_at(u, "id"));
    let (kind, channel_id, user_id, target_id, amount) = match dispatch.t.as_str() {
        "MESSAGE_CREATE" => (
            EventKind::Message,
            id_at(d, "channel_id"),
            user_of("author"),
            id_at(d, "id"),
            1,
        ),
        "MESSAGE_DELETE" => (
            EventKind::MessageDelete,
            id_at(d, "channel_id"),
            Snowflake(0),
            id_at(d, "id"),
            1,
        ),
        "MESSAGE_DELETE_BULK" => (
            EventKind::MessageDeleteBulk,
            id_at(d, "channel_id"),
            Snowflake(0),
            Snowflake(0),
            d.get("ids")
                .and_then(Value::as_array)
                .map_or(0, |ids| ids.len() as i32),
        ),
        "MESSAGE_REACTION_ADD" | "MESSAGE_REACTION_REMOVE" => (
            if dispatch.t == "MESSAGE_REACTION_ADD" {
                EventKind::ReactionAdd
            } else {
                EventKind::ReactionRemove
            },
            id_at(d, "channel_id"),
            id_at(d, "user_id"),
            id_at(d, "message_id"),
            1,
        ),
        "GUILD_MEMBER_ADD" => (
            EventKind::MemberAdd,
            Snowflake(0),
            user_of("user"),
            Snowflake(0),
            1,
        ),
        "GUILD_MEMBER_REMOVE" => (
            EventKind::MemberRemove,
            Snowflake(0),
            user_of("user"),
            Snowflake(0),
            1,
        ),
        "VOICE_STATE_UPDATE" => (
            EventKind::VoiceState,
            id_at(d, "channel_id"),
            id_at(d, "user_id"),
            Snowflake(0),
            1,
        ),
        t if t.starts_with("CHANNEL_") || t.starts_with("THREAD_") => (
            EventKind::Channel,
            id_at(d, "parent_id"),
            id_at(d, "owner_id"),
            id_at(d, "id"),
            1,
        ),
        _ => (
            EventKind::Other,
            Snowflake(0),
            Snowflake(0),
            Snowflake(0),
            1,
        ),
    };
    EventRow {
        guild_id: Snowflake(dispatch.guild_id),
        channel_id,
        user_id,
        kind,
        at: at(dispatch.at_ms),
        target_id,
        amount,
    }
}

/// The frame the simulator's gateway writes for a dispatch (its own
/// envelope, including the `sim_time_ms` field).
pub fn frame(dispatch: &Dispatch, seq: u64) -> String {
    #[derive(Serialize)]
    struct Frame<'a> {
        op: u8,
        s: u64,
        t: &'a str,
        d: &'a Value,
        sim_time_ms: i64,
    }
    serde_json::to_string(&Frame {
        op: 0,
        s: seq,
        t: &dispatch.t,
        d: &dispatch.d,
        sim_time_ms: dispatch.at_ms,
    })
    .expect("JSON values serialize")
}

/// Counts of each event kind, for the report.
pub fn event_mix(events: &[Dispatch]) -> std::collections::BTreeMap<String, u64> {
    let mut mix = std::collections::BTreeMap::new();
    for e in events {
        *mix.entry(e.t.clone()).or_insert(0) += 1;
    }
    mix
}

/// This process's resident set now and at its peak, in bytes.
pub fn memory_of(pid: u32) -> (Option<u64>, Option<u64>) {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return (None, None);
    };
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// User plus system CPU time a process has used, in seconds (from
/// `/proc/<pid>/stat`, clock ticks of 1/100 s as on every Linux we run).
pub fn cpu_secs(pid: u32) -> Option<f64> {
    stat_cpu_secs(&format!("/proc/{pid}/stat"))
}

/// CPU time of the calling thread so far, in seconds (nanoseconds in
/// `/proc/thread-self/schedstat`, updated at least every scheduler tick).
pub fn thread_cpu_secs() -> Option<f64> {
    schedstat_secs("/proc/thread-self/schedstat")
}

/// CPU time of a single-threaded process (a PostgreSQL backend) so far, in
/// seconds: its `schedstat` (nanoseconds), else its `stat` (1/100 s).
pub fn task_cpu_secs(pid: u32) -> Option<f64> {
    schedstat_secs(&format!("/proc/{pid}/schedstat")).or_else(|| cpu_secs(pid))
}

fn schedstat_secs(path: &str) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    let nanos: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(nanos as f64 / 1e9)
}

fn stat_cpu_secs(path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Busy and total CPU time of the whole machine so far, in clock ticks
/// (the first line of `/proc/stat`; idle and iowait count as not busy).
pub fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3)? + fields.get(4)?;
    Some((total - idle, total))
}
