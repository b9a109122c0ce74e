//! The backfill worker of `serve`: imports a guild's past from Discord's
//! message history when an admin asked (`/backfill start`, `/setup
//! import_days`). See [`shared::db::backfill`] for the job and its
//! exactness, [`shared::backfill`] for what a message counts as.
//!
//! A round claims one running job (`FOR UPDATE SKIP LOCKED` and a lease, so
//! replicas share the work), lists its channels and threads once (Discord's
//! listings and the catalogue's),
//! imports joins from the member list, then reads each channel's history
//! page by page (100 messages, `before` its cursor), up to
//! [`BackfillWorker::lanes`] channels at once. Every read goes through the
//! outbox's [`Poster`] (its buckets, 429 handling and global budget, of
//! which reads take only a share). A 403 marks the channel unreadable,
//! never retried. Each page's rollups and cursor commit together; a worker
//! stopped (or killed) between pages loses nothing and counts nothing
//! twice: the next claim goes on from the cursors.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use shared::Snowflake;
use shared::backfill::{HistoryMessage, ListedChannel, ListedMember, LiveReactions, ThreadListing};
use shared::bucketing::Bucketing;
use shared::db::DbError;
use shared::db::backfill::{
    self as jobs, BackfillChannel, BackfillJob, Discovered, Page, PageOutcome,
};
use shared::db::settings::CollectMode;
use shared::rollup::RollupBatch;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::delivery::Poster;
use crate::delivery::bucket::Route;
use crate::delivery::reader::ReadError;
use crate::priority::CommandsInFlight;

/// Messages per history page (Discord's maximum).
pub const PAGE: usize = 100;
/// Members per member-list page (Discord's maximum).
const MEMBERS_PAGE: usize = 1000;
/// How often `serve` looks for a job when the last round found none.
pub const WORKER_INTERVAL: Duration = Duration::from_secs(10);
/// How long a claim holds a job; every committed page renews it.
pub const LEASE: chrono::Duration = chrono::Duration::minutes(2);
/// Channels read at once (each has its own bucket).
pub const LANES: usize = 4;
/// The longest a page waits for the commands being answered before it is
/// read or written anyway (a steady stream of commands slows an import
/// down, never stops it).
pub const YIELD_LIMIT: Duration = Duration::from_secs(2);

/// Channel types with a message history: text, voice (text in voice),
/// announcement, the threads, stage.
const WITH_HISTORY: [i16; 7] = [0, 2, 5, 10, 11, 12, 13];
/// Channel types whose archived public threads are listed: text,
/// announcement, forum.
const WITH_THREADS: [i16; 3] = [0, 5, 15];

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundReport {
    pub pages: u32,
    pub messages: u64,
    pub joins: u32,
    pub unreadable: u32,
    /// The job finished in this round.
    pub finished: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("reading from Discord: {0}")]
    Read(#[from] ReadError),
    #[error("Discord's answer was not what was expected: {0}")]
    Shape(String),
}

/// The worker. `spawn` runs it in `serve`; tests call [`Self::round`].
#[derive(Clone)]
pub struct BackfillWorker {
    pub pool: PgPool,
    pub poster: Poster,
    pub interval: Duration,
    pub lease: chrono::Duration,
    pub lanes: usize,
    /// The commands this process is answering: each page waits for them
    /// (up to [`YIELD_LIMIT`]) before it is read and before it is written.
    pub commands: CommandsInFlight,
}

enum ChannelEnd {
    Done,
    Unreadable,
    /// Stopped before the end (shutdown, cancel, or another claim).
    Stopped,
}

impl BackfillWorker {
    pub fn new(pool: PgPool, poster: Poster) -> Self {
        Self {
            pool,
            poster,
            interval: WORKER_INTERVAL,
            lease: LEASE,
            lanes: LANES,
            commands: CommandsInFlight::default(),
        }
    }

    /// Starts the worker on `tracker`; it stops when `cancel` fires, after
    /// the page in flight (a page's commit is never cut in half).
    pub fn spawn(self, tracker: &TaskTracker, cancel: CancellationToken) {
        tracker.spawn(async move {
            loop {
                let worked = match self.round(&cancel).await {
                    Ok(Some(report)) => {
                        tracing::info!(?report, "backfill round");
                        true
                    }
                    Ok(None) => false,
                    Err(error) => {
                        tracing::warn!(%error, "backfill round failed");
                        false
                    }
                };
                if cancel.is_cancelled() {
                    break;
                }
                if !worked {
                    tokio::select! {
                        () = cancel.cancelled() => break,
                        () = tokio::time::sleep(self.interval) => {}
                    }
                }
            }
            tracing::info!("backfill worker stopped");
        });
    }

    /// Claims one job and works on it until it is done, cancelled, or
    /// `stop` fires; `None` when no job was due.
    pub async fn round(
        &self,
        stop: &CancellationToken,
    ) -> Result<Option<RoundReport>, BackfillError> {
        let Some(job) = jobs::claim(&self.pool, Utc::now(), self.lease).await? else {
            return Ok(None);
        };
        let result = self.work(&job, stop).await;
        if !matches!(result, Ok(RoundReport { finished: true, .. })) {
            // Let the next claim (here or on another replica) go on at once.
            jobs::release(&self.pool, job.guild_id).await?;
        }
        result.map(Some)
    }

    fn lease_until(&self) -> DateTime<Utc> {
        Utc::now() + self.lease
    }

    async fn work(
        &self,
        job: &BackfillJob,
        stop: &CancellationToken,
    ) -> Result<RoundReport, BackfillError> {
        let mut report = RoundReport::default();
        if !job.discovered {
            report.unreadable += self.discover(job).await?;
        }
        if job.members_state == "pending" && !stop.is_cancelled() {
            report.joins += self.import_joins(job).await?;
        }
        let pending: Vec<BackfillChannel> = jobs::channels(&self.pool, job.guild_id)
            .await?
            .into_iter()
            .filter(|c| c.state == "pending")
            .collect();
        let outcomes: Vec<Result<(ChannelEnd, u32, u64), BackfillError>> =
            futures_util::stream::iter(pending)
                .map(|channel| self.import_channel(job, channel, stop))
                .buffer_unordered(self.lanes.max(1))
                .collect()
                .await;
        for outcome in outcomes {
            let (end, pages, messages) = outcome?;
            report.pages += pages;
            report.messages += messages;
            report.unreadable += u32::from(matches!(end, ChannelEnd::Unreadable));
        }
        report.finished = jobs::finish_if_done(&self.pool, job.guild_id, Utc::now()).await?;
        if report.finished {
            tracing::info!(guild_id = %job.guild_id, "backfill done");
        }
        Ok(report)
    }

    /// The channels and threads to read: those Discord lists now (`GET
    /// /guilds/{id}/channels` and `/threads/active`, then the archived
    /// threads of each channel that has threads) together with the
    /// catalogue's (one deleted since tracking began is still asked:
    /// Discord answers 404, which says it no longer exists), those
    /// collected only (a thread follows its parent). Channels and threads
    /// the catalogue did not know are added to it as the ingester writes
    /// them (with their @everyone overwrite), so reports name them and
    /// decide their privacy as for live ones. Returns how many parents
    /// refused the listing (they are marked unreadable).
    async fn discover(&self, job: &BackfillJob) -> Result<u32, BackfillError> {
        let settings = shared::db::settings::load(&self.pool, job.guild_id).await?;
        let allowed: Option<Vec<Snowflake>> = match settings.collect_mode {
            CollectMode::All => None,
            CollectMode::AllowList => {
                Some(shared::db::settings::collected_channels(&self.pool, job.guild_id).await?)
            }
        };
        let collected = |channel: Snowflake, parent: Option<Snowflake>| {
            allowed
                .as_ref()
                .is_none_or(|a| a.contains(&channel) || parent.is_some_and(|p| a.contains(&p)))
        };
        let mut listed = self.listed_channels(job.guild_id).await?;
        let everyone = self.everyone_permissions(job.guild_id).await?;
        let catalogue = shared::db::catalogue::channels_of(&self.pool, &[job.guild_id]).await?;
        // Channel → (type, parent if a thread), the catalogue's first.
        let mut known: BTreeMap<Snowflake, (i16, Option<Snowflake>)> = BTreeMap::new();
        for c in &catalogue {
            // Deleted before tracking began: its history is gone.
            if c.deleted_at.is_some_and(|d| d < job.until_at) {
                continue;
            }
            let parent = if is_thread(c.kind) { c.parent_id } else { None };
            known.insert(c.channel_id, (c.kind, parent));
        }
        for l in &listed {
            let parent = if l.is_thread() { l.parent_id } else { None };
            known.entry(l.id).or_insert((l.kind, parent));
        }
        let mut found: Vec<Discovered> = Vec::new();
        let mut parents: Vec<(Snowflake, i16)> = Vec::new();
        for (&channel_id, &(kind, parent)) in &known {
            if !collected(channel_id, parent) {
                continue;
            }
            if WITH_HISTORY.contains(&kind) {
                found.push(Discovered {
                    channel_id,
                    kind,
                    parent_id: parent,
                });
            }
            if WITH_THREADS.contains(&kind) {
                parents.push((channel_id, kind));
            }
        }
        let mut refused: Vec<(Snowflake, i16, String)> = Vec::new();
        for (parent, kind) in parents {
            match self.threads_of(parent, kind, job.from_at).await {
                Ok(threads) => {
                    for t in threads {
                        if !found.iter().any(|f| f.channel_id == t.id) {
                            found.push(Discovered {
                                channel_id: t.id,
                                kind: t.kind,
                                parent_id: Some(parent),
                            });
                        }
                        listed.push(t);
                    }
                }
                Err(BackfillError::Read(ReadError::Refused { code, message, .. })) => {
                    refused.push((parent, kind, refusal(code, &message)));
                }
                Err(other) => return Err(other),
            }
        }
        // A refusing forum still gets a row, so status can name it.
        for (parent, kind, _) in &refused {
            if !found.iter().any(|f| f.channel_id == *parent) {
                found.push(Discovered {
                    channel_id: *parent,
                    kind: *kind,
                    parent_id: None,
                });
            }
        }
        let now = Utc::now();
        let rows: Vec<_> = listed
            .iter()
            .filter(|l| !catalogue.iter().any(|c| c.channel_id == l.id))
            .map(|l| l.catalogue_row(job.guild_id, now))
            .collect();
        let mut tx = self.pool.begin().await.map_err(DbError::from)?;
        if let Some(bits) = everyone {
            shared::db::catalogue::learn_everyone_permissions(&mut *tx, job.guild_id, bits).await?;
        }
        shared::db::catalogue::insert_unknown_channels(&mut *tx, &rows).await?;
        jobs::record_discovered(&mut tx, job, &found).await?;
        for (parent, _, why) in &refused {
            jobs::mark_unreadable(&mut *tx, job.guild_id, *parent, why).await?;
        }
        tx.commit().await.map_err(DbError::from)?;
        Ok(refused.len() as u32)
    }

    /// The guild's channels and active threads as Discord lists them now.
    /// A guild Discord will not list (the bot left it) leaves the
    /// catalogue's channels alone to try.
    async fn listed_channels(
        &self,
        guild_id: Snowflake,
    ) -> Result<Vec<ListedChannel>, BackfillError> {
        let channels = match self
            .poster
            .read_json(
                Route::GuildChannels,
                guild_id,
                &format!("guilds/{guild_id}/channels"),
            )
            .await
        {
            Ok(body) => body,
            Err(ReadError::Refused { code, message, .. }) => {
                tracing::warn!(%guild_id, code, %message, "the guild's channels could not be listed");
                return Ok(Vec::new());
            }
            Err(other) => return Err(other.into()),
        };
        let mut listed: Vec<ListedChannel> = shape(channels)?;
        let active = self
            .poster
            .read_json(
                Route::ActiveThreads,
                guild_id,
                &format!("guilds/{guild_id}/threads/active"),
            )
            .await?;
        listed.extend(shape::<ThreadListing>(active)?.threads);
        Ok(listed)
    }

    /// The permissions of the guild's @everyone role (the role whose id is
    /// the guild's), from `GET /guilds/{id}/roles`; `None` when Discord
    /// will not list them.
    async fn everyone_permissions(
        &self,
        guild_id: Snowflake,
    ) -> Result<Option<i64>, BackfillError> {
        let roles = match self
            .poster
            .read_json(
                Route::GuildRoles,
                guild_id,
                &format!("guilds/{guild_id}/roles"),
            )
            .await
        {
            Ok(body) => body,
            Err(ReadError::Refused { code, message, .. }) => {
                tracing::warn!(%guild_id, code, %message, "the guild's roles could not be listed");
                return Ok(None);
            }
            Err(other) => return Err(other.into()),
        };
        let roles: Vec<ListedRole> = shape(roles)?;
        Ok(roles
            .iter()
            .find(|r| r.id == guild_id)
            .and_then(|r| r.permissions.parse::<u64>().ok())
            .map(|bits| bits as i64))
    }

    /// The archived threads of `parent` that may hold messages from `from`
    /// on: the public ones, and in a text channel the private ones (all of
    /// them with Manage Threads; without it, Discord answers 403 50013 and
    /// the ones ServerPulse joined are listed instead).
    async fn threads_of(
        &self,
        parent: Snowflake,
        kind: i16,
        from: DateTime<Utc>,
    ) -> Result<Vec<ListedChannel>, BackfillError> {
        let mut threads = self
            .archived_threads(Route::ArchivedThreads, parent, from)
            .await?;
        // Private threads exist in text channels only.
        if kind == 0 {
            let private = match self
                .archived_threads(Route::PrivateArchivedThreads, parent, from)
                .await
            {
                Err(BackfillError::Read(ReadError::Refused { code: 50013, .. })) => {
                    self.archived_threads(Route::JoinedPrivateArchivedThreads, parent, from)
                        .await?
                }
                other => other?,
            };
            threads.extend(private);
        }
        Ok(threads)
    }

    /// One archived-threads listing of `parent`, every page, without the
    /// threads archived before `from` (they hold no message in range).
    /// Public and private listings go by archive time, newest first (and
    /// stop at the first thread archived before `from`); the joined
    /// private listing goes by thread id.
    async fn archived_threads(
        &self,
        route: Route,
        parent: Snowflake,
        from: DateTime<Utc>,
    ) -> Result<Vec<ListedChannel>, BackfillError> {
        let (listing, by_id) = match route {
            Route::PrivateArchivedThreads => ("threads/archived/private", false),
            Route::JoinedPrivateArchivedThreads => ("users/@me/threads/archived/private", true),
            _ => ("threads/archived/public", false),
        };
        let mut out = Vec::new();
        let mut before: Option<String> = None;
        loop {
            let path = match &before {
                None => format!("channels/{parent}/{listing}?limit=100"),
                Some(b) => format!("channels/{parent}/{listing}?limit=100&before={b}"),
            };
            let page: ThreadListing = shape(self.poster.read_json(route, parent, &path).await?)?;
            let mut next: Option<String> = None;
            let mut past_range = false;
            for t in page.threads {
                let archived = t.archived_at();
                next = Some(if by_id {
                    t.id.to_string()
                } else {
                    match archived {
                        Some(a) => a
                            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                            .replace(':', "%3A"),
                        None => continue,
                    }
                });
                if archived.is_some_and(|a| a < from) {
                    past_range |= !by_id;
                    continue;
                }
                out.push(t);
            }
            match next {
                Some(b) if page.has_more && !past_range => before = Some(b),
                _ => return Ok(out),
            }
        }
    }

    /// Joins of the members present now who joined within the job's range
    /// not imported yet, written in one transaction with the job's record
    /// of it. Without access to the member list, says so and goes on.
    async fn import_joins(&self, job: &BackfillJob) -> Result<u32, BackfillError> {
        let until = job.members_from.unwrap_or(job.until_at).min(job.until_at);
        let bucketing = self.bucketing(job.guild_id).await?;
        let mut batch = RollupBatch::default();
        let mut joins = 0u32;
        let mut after = Snowflake(0);
        loop {
            let path = format!(
                "guilds/{}/members?limit={MEMBERS_PAGE}&after={after}",
                job.guild_id
            );
            let body = match self
                .poster
                .read_json(Route::GuildMembers, job.guild_id, &path)
                .await
            {
                Ok(body) => body,
                Err(ReadError::Refused { code, message, .. }) => {
                    let why = if code == 50001 {
                        "Missing Access: the Server Members intent is off for ServerPulse"
                            .to_owned()
                    } else {
                        refusal(code, &message)
                    };
                    jobs::members_unavailable(&self.pool, job.guild_id, &why).await?;
                    return Ok(0);
                }
                Err(other) => return Err(other.into()),
            };
            let members: Vec<ListedMember> =
                serde_json::from_value(body).map_err(|e| BackfillError::Shape(e.to_string()))?;
            for m in &members {
                if shared::backfill::add_join(
                    &mut batch,
                    bucketing,
                    job.guild_id,
                    m,
                    job.from_at,
                    until,
                ) {
                    joins += 1;
                }
            }
            match members.iter().map(|m| m.user.id).max() {
                Some(last) if members.len() == MEMBERS_PAGE => after = last,
                _ => break,
            }
        }
        match jobs::commit_joins(&self.pool, job, &batch, joins as i32, self.lease_until()).await? {
            PageOutcome::Committed => Ok(joins),
            PageOutcome::JobStopped | PageOutcome::AlreadyWritten => Ok(0),
        }
    }

    /// The guild's buckets (its local hours), as live ingestion writes them.
    async fn bucketing(&self, guild_id: Snowflake) -> Result<Bucketing, BackfillError> {
        let settings = shared::db::settings::load(&self.pool, guild_id).await?;
        Ok(Bucketing::named(&settings.timezone))
    }

    /// Reads one channel's history back to the job's `from_at`, committing
    /// page by page; returns how it ended, pages and messages imported.
    async fn import_channel(
        &self,
        job: &BackfillJob,
        channel: BackfillChannel,
        stop: &CancellationToken,
    ) -> Result<(ChannelEnd, u32, u64), BackfillError> {
        let mut cursor = channel.cursor_id;
        let (mut pages, mut imported) = (0u32, 0u64);
        let bucketing = self.bucketing(job.guild_id).await?;
        loop {
            if stop.is_cancelled() {
                return Ok((ChannelEnd::Stopped, pages, imported));
            }
            self.commands.yield_to_commands(YIELD_LIMIT).await;
            let path = format!(
                "channels/{}/messages?limit={PAGE}&before={cursor}",
                channel.channel_id
            );
            let body = match self
                .poster
                .read_json(Route::ChannelHistory, channel.channel_id, &path)
                .await
            {
                Ok(body) => body,
                Err(ReadError::Refused { code, message, .. }) => {
                    jobs::mark_unreadable(
                        &self.pool,
                        job.guild_id,
                        channel.channel_id,
                        &refusal(code, &message),
                    )
                    .await?;
                    return Ok((ChannelEnd::Unreadable, pages, imported));
                }
                Err(other) => return Err(other.into()),
            };
            let messages: Vec<HistoryMessage> =
                serde_json::from_value(body).map_err(|e| BackfillError::Shape(e.to_string()))?;
            let in_range: Vec<&HistoryMessage> = messages
                .iter()
                .filter(|m| m.at() >= job.from_at && m.id < cursor)
                .collect();
            let ids: Vec<Snowflake> = in_range.iter().map(|m| m.id).collect();
            let oldest = messages.iter().map(|m| m.id).min();
            let last = messages.len() < PAGE || oldest.is_none_or(|o| o.created_at() < job.from_at);
            let next_cursor = oldest.unwrap_or(cursor);
            let covered_from = if last {
                job.from_at
            } else {
                next_cursor.created_at()
            };
            let page = Page {
                guild_id: job.guild_id,
                channel_id: channel.channel_id,
                read_before: cursor,
                next_cursor,
                covered_from,
                last,
                message_ids: &ids,
                lease_until: self.lease_until(),
                now: Utc::now(),
            };
            let rollups = |live: &LiveReactions| {
                let mut batch = RollupBatch::default();
                for m in &in_range {
                    shared::backfill::add_message(
                        &mut batch,
                        bucketing,
                        job.guild_id,
                        channel.channel_id,
                        channel.parent_id,
                        m,
                        live,
                    );
                }
                batch
            };
            self.commands.yield_to_commands(YIELD_LIMIT).await;
            match jobs::commit_page(&self.pool, &page, rollups).await? {
                PageOutcome::Committed => {}
                PageOutcome::JobStopped | PageOutcome::AlreadyWritten => {
                    return Ok((ChannelEnd::Stopped, pages, imported));
                }
            }
            metrics::counter!("serverpulse_backfill_messages_total").increment(ids.len() as u64);
            pages += 1;
            imported += ids.len() as u64;
            cursor = next_cursor;
            if last {
                return Ok((ChannelEnd::Done, pages, imported));
            }
        }
    }
}

/// A role of `GET /guilds/{id}/roles`: what privacy needs of it.
#[derive(serde::Deserialize)]
struct ListedRole {
    id: Snowflake,
    /// Permission bits as a decimal string.
    permissions: String,
}

fn is_thread(kind: i16) -> bool {
    matches!(kind, 10..=12)
}

/// Discord's answer read as `T`.
fn shape<T: serde::de::DeserializeOwned>(body: serde_json::Value) -> Result<T, BackfillError> {
    serde_json::from_value(body).map_err(|e| BackfillError::Shape(e.to_string()))
}

/// Why a channel or the member list could not be read, for `/backfill status`.
fn refusal(code: i32, message: &str) -> String {
    match code {
        50001 => "Missing Access: ServerPulse lacks View Channel or Read Message History there"
            .to_owned(),
        50013 => "Missing Permissions".to_owned(),
        10003 => "Unknown Channel: it no longer exists".to_owned(),
        _ => format!("Discord refused ({code}): {message}"),
    }
}
