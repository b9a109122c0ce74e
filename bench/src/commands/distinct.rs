//! The two ways of counting active members over a period that issue 14
//! asked to measure, on the seeded guild: the per-day member bitmaps
//! (`active_daily`, what the commands use) and a distinct count of the
//! period's member-days (`member_daily`, what they used before). Both must
//! give the same number; the figures are their latencies, one after the
//! other on one connection pool, several samples each.

use std::time::Instant;

use chrono::Duration;
use serde_json::{Value, json};
use shared::db::analytics::{self, Bots};
use shared::db::bench::active_members_by_member_days;
use sqlx::PgPool;

use super::{fmt_ms, percentile};
use crate::seed::SeededGuild;

/// Samples per method and period (alternating, so both see the same
/// machine).
const SAMPLES: usize = 7;

pub async fn active_member_options(pool: &PgPool, guild: &SeededGuild) -> anyhow::Result<Value> {
    let mut periods = Vec::new();
    for (label, days) in [("7d", 7), ("30d", 30), ("all", 0)] {
        let from = if days == 0 {
            guild.start
        } else {
            guild.end - Duration::days(days)
        };
        let (mut bitmaps, mut member_days) = (Vec::new(), Vec::new());
        let mut counts = (0, 0);
        for _ in 0..SAMPLES {
            let at = Instant::now();
            counts.0 =
                analytics::active_members(pool, guild.guild_id, from, guild.end, Bots::LeftOut)
                    .await?;
            bitmaps.push(at.elapsed().as_secs_f64() * 1000.0);
            let at = Instant::now();
            counts.1 =
                active_members_by_member_days(pool, guild.guild_id, from, guild.end, Bots::LeftOut)
                    .await?;
            member_days.push(at.elapsed().as_secs_f64() * 1000.0);
        }
        bitmaps.sort_by(f64::total_cmp);
        member_days.sort_by(f64::total_cmp);
        let (b50, m50) = (percentile(&bitmaps, 0.5), percentile(&member_days, 0.5));
        let ratio = match (b50, m50) {
            (Some(b), Some(m)) if b > 0.0 => Some(m / b),
            _ => None,
        };
        eprintln!(
            "commands: active members {label:<3}: bitmaps p50 {:>8}, member-days p50 {:>8} ({:.1}× faster), {} and {} members{}",
            fmt_ms(&json!(b50)),
            fmt_ms(&json!(m50)),
            ratio.unwrap_or(0.0),
            counts.0,
            counts.1,
            if counts.0 == counts.1 {
                ""
            } else {
                " — THE COUNTS DIFFER"
            }
        );
        periods.push(json!({
            "period": label,
            "bitmaps_p50_ms": b50,
            "bitmaps_max_ms": bitmaps.last(),
            "member_days_p50_ms": m50,
            "member_days_max_ms": member_days.last(),
            "member_days_over_bitmaps": ratio,
            "bitmaps_count": counts.0,
            "member_days_count": counts.1,
            "same_count": counts.0 == counts.1,
        }));
    }
    Ok(json!({
        "samples": SAMPLES,
        "how": "active members of the seeded guild (bots left out) over the last 7 and 30 days and all of it, by the per-day member bitmaps (active_daily, the commands' query) and by a distinct count of member_daily rows plus the hourly ends (the query before), alternating on one pool",
        "periods": periods,
    }))
}
