//! Who may run reports: the guard every report path goes through
//! ([`authorize`]), `/access` to set the rules, and `/audit` to read the
//! settings audit and the access log, paged with buttons.

use shared::Snowflake;
use shared::db::access::{self, Access, AccessAction, AccessEntry};
use twilight_model::channel::message::component::ButtonStyle;

use super::Options;
use super::settings::{already_applied, change};
use crate::component::{AuditLog, ComponentId};
use crate::context::Ctx;
use crate::error::{Failure, Outcome};
use crate::reply::{self, Embed, Message, Reply};
use crate::view::{Choice, View, keyed_enum};

/// Entries per `/audit` page.
pub const AUDIT_PAGE: i64 = 10;

const NO_REPORTS: &str = "An admin of this server has limited who may run ServerPulse reports, and your roles are not among them.";
const NO_ANALYSIS: &str = "An admin of this server has limited who may analyse other members, and your roles are not among them.";
const HIDDEN: &str = "This member has chosen not to be shown in ServerPulse reports.";

/// Whether the member asking may see `view`; the guild's access rules
/// when so. Every report, button, select and form comes through here
/// (their ids can be forged, so nothing in them is trusted). Admins
/// (Manage Server) may always run reports; a member hidden with
/// `/privacy hide` is analysed by nobody but themselves.
pub(crate) async fn authorize(ctx: &Ctx, view: View) -> Outcome<Access> {
    let pool = &ctx.state.pool;
    let rules = access::load(pool, ctx.guild_id).await?;
    if !ctx.is_admin() && !rules.may_report(&ctx.roles) {
        return Err(Failure::user(NO_REPORTS));
    }
    if let View::Member(user) = view
        && user != ctx.user_id
    {
        if !ctx.is_admin() && !rules.may_analyse_others(&ctx.roles) {
            return Err(Failure::user(NO_ANALYSIS));
        }
        if shared::db::privacy::is_hidden(pool, ctx.guild_id, user).await? {
            return Err(Failure::user(HIDDEN));
        }
    }
    Ok(rules)
}

/// Records that `ctx`'s member analysed `user` (someone else).
pub(crate) async fn log_member_analysis(ctx: &Ctx, user: Snowflake) -> Outcome<()> {
    access::log(
        &ctx.state.pool,
        ctx.guild_id,
        &AccessEntry {
            at: ctx.now,
            actor: ctx.user_id,
            action: AccessAction::MemberAnalysis,
            target: Some(user),
            detail: serde_json::json!({}),
        },
    )
    .await?;
    Ok(())
}

keyed_enum!(Visibility { Public = "public", Private = "private" });

/// `/access show|report-role|analyse-role|answers|reset` (Manage Server).
pub(super) async fn access_command(ctx: &Ctx, sub: &str, options: &Options) -> Outcome<Reply> {
    ctx.require_admin()?;
    let mut rules = access::load(&ctx.state.pool, ctx.guild_id).await?;
    let changed = match sub {
        "show" => false,
        "report-role" | "analyse-role" => {
            let role = options
                .role("role")
                .ok_or_else(|| Failure::user("Pick a role."))?;
            let allowed = options.boolean("allowed").unwrap_or(true);
            let list = if sub == "report-role" {
                &mut rules.report_roles
            } else {
                &mut rules.analyse_roles
            };
            list.retain(|r| *r != role);
            if allowed {
                list.push(role);
            }
            true
        }
        "answers" => {
            let visibility = options
                .string("visibility")
                .and_then(Visibility::from_key)
                .ok_or_else(|| Failure::user("Choose public or private."))?;
            rules.private_answers = visibility == Visibility::Private;
            true
        }
        "reset" => {
            rules = Access::default();
            true
        }
        other => {
            return Err(Failure::user(format!(
                "I don't know `/access {other}`. The command list may be out of date."
            )));
        }
    };
    if changed {
        let Some(mut tx) = change(ctx).await? else {
            return Ok(already_applied());
        };
        access::save(&mut tx, ctx.guild_id, ctx.user_id, &rules).await?;
        tx.commit().await?;
    }
    let roles = |roles: &[Snowflake], everyone: &str| {
        if roles.is_empty() {
            everyone.to_owned()
        } else {
            roles
                .iter()
                .map(|r| format!("<@&{r}>"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let embed = Embed::new("Access to ServerPulse reports")
        .field(
            "May run reports",
            roles(&rules.report_roles, "everyone"),
            false,
        )
        .field(
            "May analyse other members",
            roles(&rules.analyse_roles, "everyone who may run reports"),
            false,
        )
        .field(
            "Report answers",
            if rules.private_answers {
                "private: only the member who asked sees them"
            } else {
                "public: shown in the channel"
            },
            false,
        )
        .footer(if changed {
            "Admins (Manage Server) may always run reports. The change is recorded in the settings audit log."
        } else {
            "Admins (Manage Server) may always run reports."
        });
    Ok(Reply::Message(Message {
        embeds: vec![embed],
        ephemeral: true,
        ..Message::default()
    }))
}

/// `/audit [log]` and its paging buttons (Manage Server).
pub(super) async fn audit(ctx: &Ctx, log: AuditLog, page: u32) -> Outcome<Message> {
    ctx.require_admin()?;
    let pool = &ctx.state.pool;
    let offset = i64::from(page) * AUDIT_PAGE;
    let (lines, more) = match log {
        AuditLog::Settings => {
            let (rows, more) = access::audit_page(pool, ctx.guild_id, AUDIT_PAGE, offset).await?;
            let lines: Vec<String> = rows
                .iter()
                .map(|e| {
                    format!(
                        "<t:{}:f> {} · `{}` {}",
                        e.changed_at.timestamp(),
                        who(e.actor_id),
                        e.action,
                        reply::truncate(&e.detail.to_string(), 120)
                    )
                })
                .collect();
            (lines, more)
        }
        AuditLog::Access => {
            let (rows, more) = access::log_page(pool, ctx.guild_id, AUDIT_PAGE, offset).await?;
            let lines: Vec<String> = rows.iter().map(access_line).collect();
            (lines, more)
        }
    };
    let title = match log {
        AuditLog::Settings => "Settings audit",
        AuditLog::Access => "Access log",
    };
    let body = if lines.is_empty() {
        "Nothing recorded on this page.".to_owned()
    } else {
        lines.join("\n")
    };
    let embed = Embed::new(format!("{title} · page {}", u64::from(page) + 1))
        .describe(body)
        .footer(match log {
            AuditLog::Settings => "Newest first. Who changed which setting, when.",
            AuditLog::Access => {
                "Newest first. Who analysed another member or exported data; entries expire with the retention window."
            }
        });
    let nav = |target: u32, label: &str, disabled: bool| {
        reply::button(
            label,
            ComponentId::Audit(log, target).encode(),
            ButtonStyle::Secondary,
            disabled,
        )
    };
    let other = match log {
        AuditLog::Settings => AuditLog::Access,
        AuditLog::Access => AuditLog::Settings,
    };
    let switch = reply::button(
        match other {
            AuditLog::Settings => "Settings audit",
            AuditLog::Access => "Access log",
        },
        ComponentId::Audit(other, 0).encode(),
        ButtonStyle::Primary,
        false,
    );
    Ok(Message {
        embeds: vec![embed],
        components: vec![reply::row(vec![
            nav(page.saturating_sub(1), "◀ Newer", page == 0),
            nav(page.saturating_add(1), "Older ▶", !more || page == u32::MAX),
            switch,
        ])],
        ephemeral: true,
        ..Message::default()
    })
}

/// A mention, or what stands for an erased member.
fn who(id: Snowflake) -> String {
    if id == Snowflake(0) {
        "a former member".into()
    } else {
        format!("<@{id}>")
    }
}

fn access_line(entry: &AccessEntry) -> String {
    let when = format!("<t:{}:f>", entry.at.timestamp());
    let actor = who(entry.actor);
    match entry.action {
        AccessAction::MemberAnalysis => format!(
            "{when} {actor} analysed {}",
            entry.target.map_or_else(|| "a member".into(), who)
        ),
        AccessAction::MemberExport => format!("{when} {actor} exported their own data"),
        AccessAction::ReportExport => format!(
            "{when} {actor} exported `{}` as {} ({})",
            entry.detail["what"].as_str().unwrap_or("?"),
            entry.detail["format"].as_str().unwrap_or("?"),
            entry.detail["period"].as_str().unwrap_or("?"),
        ),
    }
}
