//! Reads of long periods against a real PostgreSQL, after flushes, a
//! timezone change, erasures and a retention trim, each compared with what
//! the events themselves say (computed here):
//! - active members from the per-day bitmaps (`active_daily`), also equal
//!   to the member-day count (`active_members_by_member_days`);
//! - leaderboards, a member's rank and message concentration, through
//!   `member_totals` when the period covers all of the guild's member-days
//!   and through the daily and hourly rows otherwise.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, TimeZone, Utc};
use shared::Snowflake;
use shared::db::analytics::{self, Bots, LeaderboardMetric, LeaderboardQuery};
use shared::db::bench::active_members_by_member_days;
use shared::db::catalogue::{self, MemberRow};
use shared::db::{daily, privacy, retention, rollups, settings};
use shared::rollup::{AuthorKind, MessageFacts, ReactionKey, RollupBatch, VoiceKey};
use shared::testing::TestDatabase;
use shared::time::Hour;
use sqlx::PgPool;

const GUILD: Snowflake = Snowflake(701);
const CHANNEL: Snowflake = Snowflake(7000);
const ADMIN: Snowflake = Snowflake(1);
/// Users 1..=USERS; the last BOTS of them are bots in the catalogue. More
/// than 2,048, so members fall in two chunks of the bitmaps.
const USERS: u64 = 2_100;
const BOTS: u64 = 40;

fn is_bot(user: u64) -> bool {
    user > USERS - BOTS
}

/// What one event makes of a user: the ways of being active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A message written as a member.
    Posted,
    /// A message written as a bot or webhook.
    BotPosted,
    /// A reaction added (user 0: an imported reaction, giver unknown).
    Reacted,
    /// A reaction removed: makes nobody active.
    Unreacted,
    /// Time in voice.
    Voice,
}

#[derive(Debug, Clone, Copy)]
struct Event {
    at: DateTime<Utc>,
    user: u64,
    kind: Kind,
}

/// A small deterministic generator (the figures must not depend on luck).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 15, 0, 0, 0).unwrap()
}

/// 40 days of hours (New York's change on 1 November inside them).
const HOURS: i64 = 40 * 24;

fn events() -> Vec<Event> {
    let mut rng = Lcg(14);
    (0..5_000)
        .map(|_| {
            let at = start() + Duration::hours(rng.next(HOURS as u64) as i64);
            let user = 1 + rng.next(USERS);
            let kind = match rng.next(10) {
                0..=3 => {
                    if is_bot(user) {
                        Kind::BotPosted
                    } else {
                        Kind::Posted
                    }
                }
                4 => Kind::BotPosted,
                5..=6 => Kind::Reacted,
                7 => Kind::Unreacted,
                _ => Kind::Voice,
            };
            let user = if kind == Kind::Reacted && rng.next(20) == 0 {
                0
            } else {
                user
            };
            Event { at, user, kind }
        })
        .collect()
}

fn add(batch: &mut RollupBatch, e: &Event) {
    let hour = Hour::containing(e.at);
    let user = Snowflake(e.user);
    match e.kind {
        Kind::Posted | Kind::BotPosted => batch.add_message(MessageFacts {
            guild_id: GUILD,
            hour,
            channel_id: CHANNEL,
            thread_parent_id: None,
            author_id: user,
            author_kind: if e.kind == Kind::Posted {
                AuthorKind::Member
            } else {
                AuthorKind::Webhook
            },
            attachments: 0,
            embeds: 0,
            stickers: 0,
        }),
        Kind::Reacted | Kind::Unreacted => batch.add_reaction(
            ReactionKey {
                guild_id: GUILD,
                hour,
                channel_id: CHANNEL,
                user_id: user,
                receiver_id: Snowflake(1),
                emoji: "👍".into(),
            },
            e.kind == Kind::Reacted,
            is_bot(e.user),
        ),
        Kind::Voice => batch.add_voice_seconds(
            VoiceKey {
                guild_id: GUILD,
                hour,
                channel_id: CHANNEL,
                user_id: user,
            },
            30,
            is_bot(e.user),
        ),
    }
}

/// The people active in `[from, to)` among `events`, as the one definition
/// says: a member message always; a bot's or webhook's message, and a bot's
/// reaction or voice, only when bots count; the unknown giver never.
fn truth(events: &[Event], from: DateTime<Utc>, to: DateTime<Utc>, bots: Bots) -> i64 {
    let counted = bots == Bots::Counted;
    let active: HashSet<u64> = events
        .iter()
        .filter(|e| e.at >= from && e.at < to)
        .filter(|e| match e.kind {
            Kind::Posted => true,
            Kind::BotPosted => counted,
            Kind::Reacted => e.user != 0 && (counted || !is_bot(e.user)),
            Kind::Unreacted => false,
            Kind::Voice => counted || !is_bot(e.user),
        })
        .map(|e| e.user)
        .collect();
    active.len() as i64
}

/// Periods of every shape: an hour, parts of a day, a day, a week across
/// the change, 30 days, everything, and some at random.
fn periods() -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let at = |h: i64| start() + Duration::hours(h);
    let mut periods = vec![
        (at(5), at(6)),
        (at(3), at(20)),
        (at(0), at(24)),
        (at(13), at(13 + 7 * 24)),
        (at(14 * 24), at(21 * 24 + 5)),
        (at(7), at(7 + 30 * 24)),
        (at(0), at(HOURS)),
        (at(-100), at(HOURS + 100)),
        // All but a few hours at both ends (through member_totals until the
        // retention trim, which leaves the first of them nothing before).
        (at(5), at(HOURS - 3)),
        (at(20), at(HOURS - 20)),
        (at(20 * 24 + 9), at(HOURS - 2)),
    ];
    let mut rng = Lcg(7);
    for _ in 0..12 {
        let a = rng.next(HOURS as u64) as i64;
        let b = a + 1 + rng.next((HOURS - a) as u64) as i64;
        periods.push((at(a), at(b)));
    }
    periods
}

/// Per-member values of `metric` in `[from, to)` from the events, ranked
/// as leaderboards rank (value descending, then id; zeros left out).
fn ranking(
    events: &[Event],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    metric: LeaderboardMetric,
    bots: Bots,
) -> Vec<(u64, i64)> {
    let counted = bots == Bots::Counted;
    let mut values: HashMap<u64, i64> = HashMap::new();
    for e in events.iter().filter(|e| e.at >= from && e.at < to) {
        let value = match (metric, e.kind) {
            (LeaderboardMetric::Messages, Kind::Posted) => 1,
            (LeaderboardMetric::Messages, Kind::BotPosted) if counted => 1,
            (LeaderboardMetric::VoiceSeconds, Kind::Voice) if counted || !is_bot(e.user) => 30,
            (LeaderboardMetric::ReactionsGiven, Kind::Reacted)
                if e.user != 0 && (counted || !is_bot(e.user)) =>
            {
                1
            }
            _ => 0,
        };
        *values.entry(e.user).or_default() += value;
    }
    let mut ranked: Vec<(u64, i64)> = values.into_iter().filter(|(_, v)| *v > 0).collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked
}

/// Leaderboards, ranks and concentration of `[from, to)` against the events.
async fn check_rankings(
    pool: &PgPool,
    events: &[Event],
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    bots: Bots,
    when: &str,
) {
    for metric in [
        LeaderboardMetric::Messages,
        LeaderboardMetric::VoiceSeconds,
        LeaderboardMetric::ReactionsGiven,
    ] {
        let expected = ranking(events, from, to, metric, bots);
        let query = LeaderboardQuery {
            metric,
            channel: None,
            limit: 10_000,
            offset: 0,
        };
        let page = analytics::leaderboard(pool, GUILD, from, to, query, bots)
            .await
            .unwrap();
        let got: Vec<(u64, i64)> = page.rows.iter().map(|r| (r.user_id.0, r.value)).collect();
        assert_eq!(
            (got, page.total),
            (expected.clone(), expected.len() as i64),
            "{when}: {metric:?} leaderboard of [{from}, {to}) with {bots:?}"
        );
        if metric != LeaderboardMetric::Messages {
            continue;
        }
        // The first, a middle and the last place.
        for place in [0, expected.len() / 2, expected.len().saturating_sub(1)] {
            let Some(&(user, value)) = expected.get(place) else {
                continue;
            };
            let rank = analytics::member_rank(pool, GUILD, from, to, Snowflake(user), bots)
                .await
                .unwrap();
            assert_eq!(
                rank,
                Some((place as i64 + 1, value)),
                "{when}: rank of {user} in [{from}, {to}) with {bots:?}"
            );
        }
        let concentration = analytics::message_concentration(pool, GUILD, from, to, bots)
            .await
            .unwrap();
        let top = expected.len().div_ceil(10);
        assert_eq!(
            (
                concentration.authors,
                concentration.top_authors,
                concentration.top_messages,
                concentration.messages
            ),
            (
                expected.len() as i64,
                top as i64,
                expected.iter().take(top).map(|(_, v)| v).sum::<i64>(),
                expected.iter().map(|(_, v)| v).sum::<i64>()
            ),
            "{when}: concentration of [{from}, {to}) with {bots:?}"
        );
    }
}

async fn check(pool: &PgPool, events: &[Event], when: &str) {
    let mut through_totals = 0;
    for (from, to) in periods() {
        if daily::covers_all(pool, GUILD, from, to).await.unwrap() {
            through_totals += 1;
        }
        for bots in [Bots::LeftOut, Bots::Counted] {
            check_rankings(pool, events, (from, to), bots, when).await;
            let expected = truth(events, from, to, bots);
            let bitmaps = analytics::active_members(pool, GUILD, from, to, bots)
                .await
                .unwrap();
            let member_days = active_members_by_member_days(pool, GUILD, from, to, bots)
                .await
                .unwrap();
            assert_eq!(
                (bitmaps, member_days),
                (expected, expected),
                "{when}: active members of [{from}, {to}) with {bots:?}"
            );
        }
    }
    // Both ways of reading per-member sums are exercised.
    assert!(
        (1..periods().len()).contains(&through_totals),
        "{when}: {through_totals} periods read member_totals"
    );
}

async fn flush(pool: &PgPool, batch: &RollupBatch) {
    let mut conn = pool.acquire().await.unwrap();
    rollups::flush_batch(&mut conn, batch).await.unwrap();
}

async fn set_timezone(pool: &PgPool, zone: &str) {
    let mut tx = pool.begin().await.unwrap();
    settings::set_timezone(&mut tx, GUILD, ADMIN, zone)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// The users with a number in the bitmaps.
async fn numbered(pool: &PgPool) -> BTreeSet<i64> {
    sqlx::query_scalar("select user_id from member_index where guild_id = $1")
        .bind(GUILD)
        .fetch_all(pool)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

#[tokio::test]
async fn long_period_figures_equal_what_the_events_say() {
    let db = TestDatabase::create().await;
    let pool = &db.pool;
    set_timezone(pool, "America/New_York").await;
    let bots: Vec<MemberRow> = (USERS - BOTS + 1..=USERS)
        .map(|u| MemberRow {
            guild_id: GUILD,
            user_id: Snowflake(u),
            is_bot: true,
            joined_at: None,
            left_at: None,
            join_count: 1,
        })
        .collect();
    catalogue::upsert_members(pool, &bots).await.unwrap();

    // Flushed in five batches: a member active again on a day they already
    // were sets no new bit, one active in a new way sets another.
    let mut events = events();
    for part in events.chunks(1_000) {
        let mut batch = RollupBatch::default();
        for e in part {
            add(&mut batch, e);
        }
        flush(pool, &batch).await;
    }
    check(pool, &events, "after the flushes").await;

    // New local days: every bitmap rebuilt from the member-days.
    set_timezone(pool, "Asia/Kathmandu").await;
    check(pool, &events, "after a timezone change").await;

    // An erased member and an erased bot: their bits cleared, their numbers
    // forgotten.
    let (member, bot) = (
        events.iter().find(|e| e.kind == Kind::Posted).unwrap().user,
        events.iter().find(|e| is_bot(e.user)).unwrap().user,
    );
    for user in [member, bot] {
        privacy::erase_member(pool, GUILD, Snowflake(user), Utc::now())
            .await
            .unwrap();
    }
    events.retain(|e| e.user != member && e.user != bot);
    check(pool, &events, "after two erasures").await;
    let numbers = numbered(pool).await;
    assert!(!numbers.contains(&(member as i64)) && !numbers.contains(&(bot as i64)));

    // Retention cuts a local day: days before it go, the cut day is rebuilt
    // from the hours it keeps, members with nothing left lose their number.
    let horizon = start() + Duration::hours(20 * 24 + 7);
    retention::trim_member_rows(pool, GUILD, horizon, 500)
        .await
        .unwrap();
    events.retain(|e| e.at >= horizon);
    check(pool, &events, "after a retention trim").await;
    let left: BTreeSet<i64> = events
        .iter()
        .filter(|e| e.user != 0 && e.kind != Kind::Unreacted)
        .map(|e| e.user as i64)
        .collect();
    let numbers = numbered(pool).await;
    assert!(
        left.is_subset(&numbers),
        "everyone active after the horizon keeps a number"
    );
    // Reacting with a removal only, or receiving, leaves a member_daily row
    // (and the number) without making anyone active.
    let extra: Vec<_> = numbers.difference(&left).collect();
    for user in extra {
        let row: i64 = sqlx::query_scalar(
            "select count(*) from member_daily where guild_id = $1 and user_id = $2",
        )
        .bind(GUILD)
        .bind(user)
        .fetch_one(pool)
        .await
        .unwrap();
        assert!(row > 0, "user {user} keeps a number with no daily row left");
    }
}

/// Two writers numbering new members of one guild at once (the ingester's
/// flush and a history import): the second waits for the first's counter
/// and skips a member it numbered meanwhile, so no number is handed out
/// twice and everyone counts. Both are the first to write their month, so
/// both create its partitions: the second takes the first's.
#[tokio::test]
async fn two_flushes_number_new_members_once() {
    let db = TestDatabase::create().await;
    let pool = db.pool.clone();
    let day = |d: i64| start() + Duration::days(d) + Duration::hours(12);
    let batch_of = |events: &[(i64, u64)]| {
        let mut batch = RollupBatch::default();
        for &(d, user) in events {
            add(
                &mut batch,
                &Event {
                    at: day(d),
                    user,
                    kind: Kind::Posted,
                },
            );
        }
        batch
    };
    let first = batch_of(&[(0, 5_000)]);
    // Other days than the first's: no member_daily row in common, so the
    // second flush reaches the numbering while the first is uncommitted.
    let second = batch_of(&[(1, 5_000), (1, 5_001), (2, 5_002)]);

    let mut tx = pool.begin().await.unwrap();
    rollups::flush_batch(&mut tx, &first).await.unwrap();
    let other = {
        let pool = pool.clone();
        tokio::spawn(async move {
            let mut tx = pool.begin().await.unwrap();
            rollups::flush_batch(&mut tx, &second).await.unwrap();
            tx.commit().await.unwrap();
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    tx.commit().await.unwrap();
    other.await.unwrap();

    let numbers: Vec<(i64, i32)> =
        sqlx::query_as("select user_id, idx from member_index where guild_id = $1 order by idx")
            .bind(GUILD)
            .fetch_all(&pool)
            .await
            .unwrap();
    let users: BTreeSet<i64> = numbers.iter().map(|(u, _)| *u).collect();
    let idxs: BTreeSet<i32> = numbers.iter().map(|(_, i)| *i).collect();
    assert_eq!(users, BTreeSet::from([5_000, 5_001, 5_002]));
    assert_eq!(idxs.len(), 3, "one number each: {numbers:?}");
    let active = analytics::active_members(&pool, GUILD, day(0), day(3), Bots::LeftOut)
        .await
        .unwrap();
    assert_eq!(active, 3);
}
