//! `/serverstats members`: growth, active members, retention, top members.

use chrono::{DateTime, Utc};
use shared::db::analytics::{self, GuildTotals, LeaderboardMetric};

use super::frame::{Frame, as_series, series_of, text_only, with_chart};
use super::leaderboards::{ranking, ranking_lines};
use super::overview::previous_totals;
use crate::charts;
use crate::context::Ctx;
use crate::error::Outcome;
use crate::honest;
use crate::reply::{Embed, Message, int};
use crate::view::{Choice, MembersCategory};

pub(super) async fn members(
    ctx: &Ctx,
    frame: &Frame,
    category: MembersCategory,
    totals: GuildTotals,
) -> Outcome<Message> {
    let pool = &ctx.state.pool;
    let (g, p) = (ctx.guild_id, frame.period);
    let prev = previous_totals(ctx, frame).await?;
    let mut embed = Embed::new(format!("Members · {} · {}", category.key(), frame.label));
    match category {
        MembersCategory::Growth => {
            let membership = analytics::membership(pool, g, p.from, p.to, frame.bots).await?;
            let hours = analytics::guild_hours(pool, g, p.from, p.to, frame.bots).await?;
            let joins = frame.daily(&series_of(&hours, |h| h.joins));
            let leaves = frame.daily(&series_of(&hours, |h| h.leaves));
            embed = frame.compared(
                embed,
                &totals,
                prev.as_ref(),
                &[
                    ("Joins", |t| t.joins),
                    ("Leaves", |t| t.leaves),
                    ("Rejoins", |t| t.rejoins),
                    ("Net growth", |t| t.joins - t.leaves),
                ],
            );
            if let Some(end) = membership.members_at_end() {
                let start = end - (totals.joins - totals.leaves);
                embed = embed.field(
                    "Members",
                    format!("**{}** at the end ({} at the start)", int(end), int(start)),
                    true,
                );
            }
            let png = frame.day_chart(
                &format!("Joins and leaves per day · {}", frame.label),
                &joins,
                &[
                    as_series("joins", &joins, charts::GREEN),
                    as_series("leaves", &leaves, charts::RED),
                ],
                None,
            );
            with_chart(embed, "members.png", png).await
        }
        MembersCategory::Activity => {
            let membership = analytics::membership(pool, g, p.from, p.to, frame.bots).await?;
            let (active, prev_active) = frame
                .now_and_before(|q| analytics::active_members(pool, g, q.from, q.to, frame.bots))
                .await?;
            embed = embed.field("Active members", frame.figure(active, prev_active), true);
            if let Some(end) = membership.members_at_end() {
                let start = end - (totals.joins - totals.leaves);
                let members = start + membership.new_users;
                embed = embed
                    .field(
                        "Members in the period",
                        format!("**{}**", int(members)),
                        true,
                    )
                    .field(
                        "Inactive members",
                        format!("**{}**", int((members - active).max(0))),
                        true,
                    )
                    .field(
                        "Active ratio",
                        honest::bar(active, members, "no members in this period"),
                        false,
                    );
            }
            let bots = match frame.bots {
                analytics::Bots::LeftOut => "bots left out",
                analytics::Bots::Counted => "bots counted",
            };
            embed = embed.field(
                "Definition",
                format!("{} ({bots}).", honest::ACTIVE_MEMBER),
                false,
            );
            Ok(text_only(embed))
        }
        MembersCategory::Retention => {
            let now = ctx.now;
            // Imported joins are hourly totals of the members still present:
            // no cohort is made of them, cohorts start where tracking did.
            let imported = crate::imported::frame_until(pool, g, frame).await?;
            let start = |from: DateTime<Utc>| imported.map_or(from, |until| from.max(until));
            let (cohort, prev_cohort) = frame
                .now_and_before(|q| {
                    let from = start(q.from);
                    analytics::join_cohort(pool, g, from, q.to.max(from), now, frame.bots)
                })
                .await?;
            embed = embed
                .field(
                    "Joins",
                    frame.figure(cohort.joined, prev_cohort.map(|c| c.joined)),
                    true,
                )
                .field(
                    "Activated (posted within 7 days)",
                    honest::share(
                        cohort.activated,
                        cohort.joined,
                        "",
                        "no joins in this period",
                    ),
                    false,
                )
                .field(
                    "Still members after 7 days",
                    honest::share(
                        cohort.retained_7d,
                        cohort.eligible_7d,
                        " eligible",
                        RETENTION_7D_MISSING,
                    ),
                    false,
                )
                .field(
                    "Still members after 30 days",
                    honest::share(
                        cohort.retained_30d,
                        cohort.eligible_30d,
                        " eligible",
                        RETENTION_30D_MISSING,
                    ),
                    false,
                );
            if let Some(until) = imported {
                embed = embed.field(
                    "Cohorts",
                    crate::imported::cohort_note(&crate::imported::discord_time(until)),
                    false,
                );
            }
            Ok(text_only(embed))
        }
        MembersCategory::Top => {
            let page = ranking(
                ctx,
                (p, frame.bots),
                LeaderboardMetric::Messages,
                None,
                10,
                0,
            )
            .await?;
            Ok(text_only(embed.describe(ranking_lines(&page.rows, 0, int))))
        }
    }
}

/// What a retention share needs when no join of the period is old enough.
pub(crate) const RETENTION_7D_MISSING: &str = "needs members who joined 7+ days ago";
pub(crate) const RETENTION_30D_MISSING: &str = "needs members who joined 30+ days ago";
