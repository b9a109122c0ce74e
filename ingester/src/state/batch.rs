//! The batch a shard is building: every write one flush commits,
//! pre-aggregated by primary key, and the sealed form handed to the flush.

use std::collections::{BTreeSet, HashMap as StdHashMap};

use foldhash::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use shared::Snowflake;
use shared::db::catalogue::{ChannelRow, FirstMessage, GuildRow, MemberRow, SpanRow};
use shared::db::ingest::{ShardCheckpoint, VoiceSessionRow};
use shared::rollup::RollupBatch;
use shared::time::Hour;

use super::alerts::AlertWrites;

/// A gap to record: the shard's guilds lost events between the two instants.
#[derive(Debug, Clone)]
pub struct Gap {
    pub guilds: Vec<Snowflake>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub reason: &'static str,
}

/// Catalogue rows to upsert (absolute state, last write wins).
#[derive(Debug, Default)]
pub struct CatalogueChanges {
    pub guilds: HashMap<Snowflake, GuildRow>,
    pub channels: HashMap<(Snowflake, Snowflake), ChannelRow>,
    pub members: HashMap<(Snowflake, Snowflake), MemberRow>,
    pub spans: HashMap<(Snowflake, Snowflake, DateTime<Utc>), SpanRow>,
    /// Earliest counted message per membership span.
    pub first_messages: HashMap<(Snowflake, Snowflake, DateTime<Utc>), DateTime<Utc>>,
}

impl CatalogueChanges {
    pub fn set_span(&mut self, span: SpanRow) {
        let key = (span.guild_id, span.user_id, span.joined_at);
        match self.spans.get_mut(&key) {
            // Keep the rejoin flag of the first write, as the table does.
            Some(existing) => existing.left_at = span.left_at,
            None => {
                self.spans.insert(key, span);
            }
        }
    }

    /// The span that began at `joined_at` ended at `left_at`.
    pub fn end_span(
        &mut self,
        guild_id: Snowflake,
        user_id: Snowflake,
        joined_at: DateTime<Utc>,
        left_at: DateTime<Utc>,
    ) {
        self.set_span(SpanRow {
            guild_id,
            user_id,
            joined_at,
            left_at: Some(left_at),
            is_rejoin: false,
        });
    }

    /// A counted message at `at` by a member present since `joined_at`.
    pub fn first_message(
        &mut self,
        guild_id: Snowflake,
        user_id: Snowflake,
        joined_at: DateTime<Utc>,
        at: DateTime<Utc>,
    ) {
        let first = self
            .first_messages
            .entry((guild_id, user_id, joined_at))
            .or_insert(at);
        *first = (*first).min(at);
    }

    /// First messages to record, as rows.
    pub fn first_message_rows(&self) -> Vec<FirstMessage> {
        self.first_messages
            .iter()
            .map(|((guild_id, user_id, joined_at), at)| FirstMessage {
                guild_id: *guild_id,
                user_id: *user_id,
                joined_at: *joined_at,
                at: *at,
            })
            .collect()
    }
}

/// Everything one flush commits, pre-aggregated by primary key.
#[derive(Debug, Default)]
pub struct Pending {
    pub rollups: RollupBatch,
    pub catalogue: CatalogueChanges,
    /// Voice sessions that ended, by `(guild_id, user_id)`.
    pub voice_closed: HashSet<(Snowflake, Snowflake)>,
    pub coverage: BTreeSet<Hour>,
    pub gaps: Vec<Gap>,
    /// Guilds the bot left (GUILD_DELETE without `unavailable`), with when.
    pub guilds_left: StdHashMap<Snowflake, DateTime<Utc>>,
    /// Gateway frames folded in (what the bounded buffer counts).
    pub frames: u64,
    /// Holds a new session's READY: commit it at once, so a crash right
    /// after cannot hide that this session existed.
    pub urgent: bool,
    /// The wall clock entered a new hour without any frame (coverage).
    pub touched: bool,
    /// Incidents and detector windows to write.
    pub alerts: AlertWrites,
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.frames == 0 && self.gaps.is_empty() && !self.touched && self.alerts.is_empty()
    }
}

/// A sealed batch: ready to commit, with the checkpoint it brings the shard to.
#[derive(Debug)]
pub struct Sealed {
    pub pending: Pending,
    pub voice_open: Vec<VoiceSessionRow>,
    pub checkpoint: ShardCheckpoint,
    pub last_event_at: Option<DateTime<Utc>>,
}
