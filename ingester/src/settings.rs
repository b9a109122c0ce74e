//! What the ingester needs of each guild's settings, kept current through
//! PostgreSQL LISTEN/NOTIFY: every settings write fires
//! `pg_notify('serverpulse_settings', guild_id)` (alert settings too), and
//! the listener reloads that guild at once, so a change takes effect for
//! the next event.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use shared::Snowflake;
use shared::alerts::GuildAlertSettings;
use shared::bucketing::Bucketing;
use shared::db::DbError;
use shared::db::settings::CollectMode;
use shared::time::Hour;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

/// A guild's settings as the ingester applies them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub tracked: bool,
    pub since: Option<DateTime<Utc>>,
    /// `Some` in allow-list mode.
    pub allow: Option<HashSet<Snowflake>>,
    /// What each alert kind watches (defaults for a guild without rows).
    pub alerts: GuildAlertSettings,
    /// Where the guild's rollup buckets start: its local hours.
    pub bucketing: Bucketing,
}

impl Filter {
    /// Whether an event at `at` of this guild counts.
    pub fn counts_at(&self, at: DateTime<Utc>) -> bool {
        self.tracked && self.since.is_none_or(|since| at >= since)
    }

    /// The rollup bucket an event at `at` of this guild belongs to.
    pub fn bucket(&self, at: DateTime<Utc>) -> Hour {
        self.bucketing.containing(at)
    }

    /// Whether a channel is collected: it, or for a thread its parent, is in
    /// the allow-list (or every channel is collected).
    pub fn collects(&self, channel: Snowflake, thread_parent: Option<Snowflake>) -> bool {
        self.allow.as_ref().is_none_or(|allow| {
            allow.contains(&channel) || thread_parent.is_some_and(|p| allow.contains(&p))
        })
    }
}

/// Filters of every guild with settings; guilds without are not tracked.
#[derive(Debug, Default)]
pub struct SettingsCache {
    filters: RwLock<HashMap<Snowflake, Arc<Filter>>>,
    /// Bumped after every [`SettingsCache::set`]: the shards' copies
    /// ([`ShardFilters`]) are stale once it moves.
    version: AtomicU64,
}

impl SettingsCache {
    pub fn get(&self, guild_id: Snowflake) -> Arc<Filter> {
        self.filters
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&guild_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Sets a guild's filter (the listener does this on every change).
    pub fn set(&self, guild_id: Snowflake, filter: Filter) {
        self.filters
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(guild_id, Arc::new(filter));
        // After the write: a shard that sees the new version reads the new
        // filter.
        self.version.fetch_add(1, Ordering::Release);
    }

    fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Reloads one guild.
    pub async fn reload(&self, pool: &PgPool, guild_id: Snowflake) -> Result<(), DbError> {
        let settings = shared::db::settings::load(pool, guild_id).await?;
        let allow = match settings.collect_mode {
            CollectMode::All => None,
            CollectMode::AllowList => Some(
                shared::db::settings::collected_channels(pool, guild_id)
                    .await?
                    .into_iter()
                    .collect(),
            ),
        };
        let alerts = shared::db::alerts::settings_of(pool, guild_id).await?;
        self.set(
            guild_id,
            Filter {
                tracked: settings.tracking_enabled,
                since: settings.tracking_since,
                allow,
                alerts,
                bucketing: Bucketing::named(&settings.timezone),
            },
        );
        Ok(())
    }

    /// Reloads every tracked guild and every guild already cached.
    pub async fn reload_all(&self, pool: &PgPool) -> Result<(), DbError> {
        let mut guilds: HashSet<Snowflake> = shared::db::ingest::tracked_guild_ids(pool)
            .await?
            .into_iter()
            .collect();
        guilds.extend(
            self.filters
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .keys()
                .copied(),
        );
        for guild_id in guilds {
            self.reload(pool, guild_id).await?;
        }
        Ok(())
    }
}

/// One shard's copy of the filters it has used, so that folding an event
/// costs no lock and no shared hash lookup: the copy is set aside whenever
/// the shared cache's version moves (any guild's settings changed), so a
/// change still takes effect for the next event.
#[derive(Debug)]
pub struct ShardFilters {
    shared: Arc<SettingsCache>,
    version: u64,
    local: foldhash::HashMap<Snowflake, Arc<Filter>>,
    /// The copy as it was before the version moved, until
    /// [`ShardFilters::take_superseded`] takes it: what applied until the
    /// change (open voice sessions are credited with it up to the change).
    superseded: Option<foldhash::HashMap<Snowflake, Arc<Filter>>>,
}

impl ShardFilters {
    pub fn new(shared: Arc<SettingsCache>) -> Self {
        Self {
            version: shared.version(),
            shared,
            local: foldhash::HashMap::default(),
            superseded: None,
        }
    }

    /// The version of the shared cache this copy holds (it moves when any
    /// guild's settings change).
    pub fn version(&mut self) -> u64 {
        self.refresh();
        self.version
    }

    fn refresh(&mut self) {
        let version = self.shared.version();
        if version != self.version {
            let before = std::mem::take(&mut self.local);
            // Several changes before a take: the oldest copy is what applied.
            self.superseded.get_or_insert(before);
            self.version = version;
        }
    }

    /// The filters that applied before the settings last changed (those
    /// used since the change before), if they changed since the last take.
    pub fn take_superseded(&mut self) -> Option<foldhash::HashMap<Snowflake, Arc<Filter>>> {
        self.refresh();
        self.superseded.take()
    }

    /// A guild's filter as the shared cache holds it now.
    pub fn get(&mut self, guild_id: Snowflake) -> Arc<Filter> {
        self.refresh();
        let Self { shared, local, .. } = self;
        Arc::clone(
            local
                .entry(guild_id)
                .or_insert_with(|| shared.get(guild_id)),
        )
    }
}

/// Listens for settings changes until `shutdown`. After every (re)connect it
/// reloads everything, since notifications sent while it was away are lost.
pub async fn listen(pool: PgPool, cache: Arc<SettingsCache>, shutdown: CancellationToken) {
    let mut backoff = Duration::from_millis(200);
    loop {
        let result = tokio::select! {
            () = shutdown.cancelled() => return,
            result = listen_once(&pool, &cache) => result,
        };
        if let Err(error) = result {
            tracing::warn!(%error, "settings listener lost its connection; reconnecting");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

async fn listen_once(pool: &PgPool, cache: &SettingsCache) -> Result<(), DbError> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen("serverpulse_settings").await?;
    cache.reload_all(pool).await?;
    loop {
        let notification = listener.recv().await?;
        match notification.payload().parse::<Snowflake>() {
            Ok(guild_id) => {
                cache.reload(pool, guild_id).await?;
                tracing::info!(%guild_id, "settings reloaded");
                metrics::counter!("serverpulse_ingester_settings_reloads_total").increment(1);
            }
            Err(_) => tracing::warn!(
                payload = notification.payload(),
                "unexpected settings notification"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_follow_their_parent_in_the_allow_list() {
        let filter = Filter {
            tracked: true,
            since: None,
            allow: Some([Snowflake(10)].into()),
            ..Filter::default()
        };
        assert!(filter.collects(Snowflake(10), None));
        assert!(filter.collects(Snowflake(99), Some(Snowflake(10))));
        assert!(!filter.collects(Snowflake(11), None));
        assert!(
            !Filter::default().counts_at(Utc::now()),
            "untracked by default"
        );
    }
}
