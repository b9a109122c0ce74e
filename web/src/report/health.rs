//! The overview's community health section: active-member ratio,
//! new-member activation, retention and message concentration, each with
//! its definition one click away (a button whose id names the figure).

use chrono::Duration;
use serde_json::Value;
use shared::db::analytics::{self, GuildTotals, JoinCohort, MembershipFigures};
use twilight_model::channel::message::component::ButtonStyle;

use super::frame::Frame;
use crate::component::ComponentId;
use crate::context::Ctx;
use crate::error::Outcome;
use crate::reply::{self, Embed, Message, int};
use crate::view::{Choice, keyed_enum};

keyed_enum!(HealthFigure {
    ActiveRatio = "active", Activation = "activation", Retention = "retention",
    Concentration = "concentration",
});

impl HealthFigure {
    /// The field's name in the overview (and the button's label).
    pub fn name(self) -> &'static str {
        match self {
            Self::ActiveRatio => "Active-member ratio",
            Self::Activation => "New-member activation",
            Self::Retention => "Retention (7 days)",
            Self::Concentration => "Message concentration",
        }
    }

    /// What the figure means, as the button answers it and the README says it.
    pub fn definition(self) -> &'static str {
        match self {
            Self::ActiveRatio => {
                "**Active-member ratio**: active members ÷ members in the period. Active members are those the overview's \"Active members\" counts; members in the period are the members at its start plus the people who joined during it (both as in `/serverstats members activity`). Bots are left out unless `/setup count_bots:true`."
            }
            Self::Activation => {
                "**New-member activation**: of the joins in the period, the share whose first message came within 7 days of joining (as in `/serverstats members retention`). Joins of the last 7 days may still activate."
            }
            Self::Retention => {
                "**Retention (7 days)**: of the people whose first 7 days as members ended in the period (they joined between 7 days before its start and 7 days before its end), the share that were members 7 days after joining."
            }
            Self::Concentration => {
                "**Message concentration**: the share of the period's messages written by the top 10 % of their authors (the 10 % with the most messages, rounded up to whole members; at least one). High means a few members carry the conversation. Hidden members count, unnamed, as in every total."
            }
        }
    }
}

/// `12.5% (3 of 24 …)`, or what is missing when there is nothing to divide by.
fn ratio(part: i64, whole: i64, of: &str, missing: &str) -> String {
    if whole <= 0 {
        return missing.to_owned();
    }
    format!(
        "**{:.1}%** ({} of {} {of})",
        part as f64 / whole as f64 * 100.0,
        int(part),
        int(whole)
    )
}

/// What the section reads beside the overview's own figures.
pub(super) struct HealthReads {
    /// The joins of the period (activation).
    cohort: JoinCohort,
    /// The joins whose first 7 days ended in the period (retention).
    retained: JoinCohort,
    concentration: analytics::Concentration,
}

/// The section's reads, run at once (on three pool connections) when the
/// frame is `concurrent`; the overview runs this beside its own reads.
pub(super) async fn reads(ctx: &Ctx, frame: &Frame) -> Outcome<HealthReads> {
    let pool = &ctx.state.pool;
    let (g, p, bots) = (ctx.guild_id, frame.period, frame.bots);
    let week = Duration::days(7);
    let cohort = analytics::join_cohort(pool, g, p.from, p.to, ctx.now, bots);
    let retained = analytics::join_cohort(pool, g, p.from - week, p.to - week, p.to, bots);
    let concentration = analytics::message_concentration(pool, g, p.from, p.to, bots);
    let (cohort, retained, concentration) = if frame.concurrent {
        tokio::try_join!(cohort, retained, concentration)?
    } else {
        (cohort.await?, retained.await?, concentration.await?)
    };
    Ok(HealthReads {
        cohort,
        retained,
        concentration,
    })
}

/// The four figures of the period, each a field of `embed`, from the
/// overview's totals, active members and membership and the section's
/// [`reads`].
pub(super) fn section(
    totals: &GuildTotals,
    active: i64,
    membership: &MembershipFigures,
    reads: &HealthReads,
    embed: Embed,
) -> Embed {
    let HealthReads {
        cohort,
        retained,
        concentration,
    } = reads;
    // Members in the period, as `/serverstats members activity` counts them.
    let members = membership
        .members_at_end()
        .map(|end| end - (totals.joins - totals.leaves) + membership.new_users);
    let active_ratio = match members {
        Some(members) => ratio(
            active,
            members,
            "members",
            "needs members: none in the period",
        ),
        None => "needs the member count, which Discord has not sent yet".to_owned(),
    };
    let concentrated = match concentration.share() {
        Some(share) => format!(
            "**{:.1}%** of {} messages by the top {} of {} authors",
            share * 100.0,
            int(concentration.messages),
            int(concentration.top_authors),
            int(concentration.authors)
        ),
        None => "needs messages: none in the period".to_owned(),
    };
    embed
        .field(
            "Community health",
            "Each figure's definition is one click away (buttons below).",
            false,
        )
        .field(HealthFigure::ActiveRatio.name(), active_ratio, true)
        .field(
            HealthFigure::Activation.name(),
            ratio(
                cohort.activated,
                cohort.joined,
                "joins",
                "needs members who joined in the period",
            ),
            true,
        )
        .field(
            HealthFigure::Retention.name(),
            ratio(
                retained.retained_7d,
                retained.eligible_7d,
                "joins",
                "needs members whose first 7 days ended in the period",
            ),
            true,
        )
        .field(HealthFigure::Concentration.name(), concentrated, true)
}

/// The row of buttons that show each figure's definition.
pub(super) fn definition_buttons() -> Value {
    reply::row(
        HealthFigure::ALL
            .iter()
            .map(|f| {
                reply::button(
                    &format!("What is {}?", f.name().to_lowercase()),
                    ComponentId::Definition(*f).encode(),
                    ButtonStyle::Secondary,
                    false,
                )
            })
            .collect(),
    )
}

/// The answer to a definition button: only for the member who clicked.
pub fn definition_message(figure: HealthFigure) -> Message {
    Message::notice(figure.definition())
}
