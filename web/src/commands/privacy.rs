//! `/privacy hide|delete|resume|export` (every member, answered only to
//! them) and `/export-report` (Manage Server).

use serde_json::json;
use shared::db::access::{self, AccessAction, AccessEntry};
use shared::db::privacy;

use super::Options;
use crate::context::Ctx;
use crate::error::{Failure, Outcome};
use crate::export::{ExportFormat, FileError, build_file};
use crate::reply::{Message, Reply};
use crate::report::{ExportWhat, export_report as report_table};
use crate::view::{Choice, Request, TimeframeChoice, View};

pub const HIDDEN: &str = "Done: ServerPulse no longer names or ranks you in leaderboards, top lists, digests, the Pulse Report, exports or other members' analysis of you. Your activity still counts, anonymously, in the server's totals. `/privacy resume` shows you again.";

pub const ERASED: &str = "Done: your per-member activity in this server (messages, reactions and voice time by hour, membership history, and access-log entries by or about you) has been erased, and from now on nothing is recorded about you per member: your messages still count, anonymously, in the server's totals. ServerPulse keeps only a keyed hash of your id, to recognise you. `/privacy resume` starts recording you again (what was erased does not come back).";

fn private(text: impl Into<String>) -> Reply {
    Reply::Message(Message::notice(text))
}

pub(super) async fn privacy(ctx: &Ctx, sub: &str) -> Outcome<Reply> {
    let pool = &ctx.state.pool;
    let (guild, user) = (ctx.guild_id, ctx.user_id);
    match sub {
        "hide" => {
            privacy::hide(pool, guild, user, ctx.now).await?;
            Ok(private(HIDDEN))
        }
        "delete" => {
            let erased = privacy::erase_member(pool, guild, user, ctx.now).await?;
            let rows: u64 = erased.iter().map(|(_, n)| n).sum();
            tracing::info!(%guild, rows, "erased a member's rows on request");
            Ok(private(ERASED))
        }
        "resume" => {
            let before = privacy::resume(pool, guild, user).await?;
            let text = match (before.hidden_since, before.erased_since) {
                (None, None) => {
                    "Nothing to undo: ServerPulse already shows and records you like every member."
                }
                (Some(_), None) => {
                    "Done: you are shown again in leaderboards, top lists, digests, the Pulse Report, exports and member analysis."
                }
                (_, Some(_)) => {
                    "Done: ServerPulse records your activity per member again from now on, and shows you like every member. What was erased does not come back."
                }
            };
            Ok(private(text))
        }
        "export" => export_own(ctx).await,
        other => Err(Failure::user(format!(
            "I don't know `/privacy {other}`. The command list may be out of date."
        ))),
    }
}

/// The member's own stored rows as `serverpulse-<guild>-me.json`.
async fn export_own(ctx: &Ctx) -> Outcome<Reply> {
    let pool = &ctx.state.pool;
    let mut conn = pool.acquire().await?;
    let status = privacy::status(&mut conn, ctx.guild_id, ctx.user_id).await?;
    let data = privacy::member_data(&mut conn, ctx.guild_id, ctx.user_id).await?;
    drop(conn);
    let document = json!({
        "guild_id": ctx.guild_id.to_string(),
        "user_id": ctx.user_id.to_string(),
        "exported_at": ctx.now.to_rfc3339(),
        "erased_since": status.erased_since,
        "data": data,
    });
    let packed = build_file(
        format!("serverpulse-{}-me.json", ctx.guild_id),
        ctx.attachment_size_limit,
        move || {
            serde_json::to_vec_pretty(&document).map_err(|e| format!("encoding an export: {e}"))
        },
    )
    .await
    .map_err(|e| match e {
        FileError::TooLarge(e) => Failure::user(format!("Your export cannot be sent: {e}.")),
        FileError::Failed(e) => Failure::Internal(e),
    })?;
    access::log(
        pool,
        ctx.guild_id,
        &AccessEntry {
            at: ctx.now,
            actor: ctx.user_id,
            action: AccessAction::MemberExport,
            target: None,
            detail: json!({}),
        },
    )
    .await?;
    let mut text = String::from(
        "Everything ServerPulse stores about you in this server, hour by hour (no message content is ever stored).",
    );
    if status.erased_since.is_some() {
        text.push_str(" You chose `/privacy delete`, so nothing is recorded about you per member.");
    }
    if packed.compressed {
        text.push_str(
            " The file was too large for Discord's upload limit, so it is gzip-compressed.",
        );
    }
    Ok(Reply::Message(Message {
        content: Some(text),
        files: vec![packed.file],
        ephemeral: true,
        ..Message::default()
    }))
}

/// `/export-report format timeframe [what]` (Manage Server), logged in the
/// access log.
pub(super) async fn export_report(ctx: &Ctx, options: &Options) -> Outcome<Reply> {
    ctx.require_admin()?;
    let format = options.choice("format", ExportFormat::Csv)?;
    let what = options.choice("what", ExportWhat::Overview)?;
    let timeframe = match options.string("timeframe") {
        None => shared::time::Timeframe::Last7Days,
        Some(key) => TimeframeChoice::from_key(key)
            .and_then(TimeframeChoice::preset)
            .ok_or_else(|| {
                Failure::user(format!(
                    "`{key}` is not a timeframe an export takes. Choose one of: 24h, 7d, 30d, 90d, all."
                ))
            })?,
    };
    // Resolved like the overview: its period, retention and no-data checks.
    let request = Request {
        view: View::Overview,
        timeframe,
    }
    .validate()
    .map_err(Failure::User)?;
    let (table, meta) = report_table(ctx, request, what).await?;
    let period = meta["period"].as_str().unwrap_or_default().to_owned();
    let imported = meta["imported_history"].as_str().map(str::to_owned);
    let csv_note = imported.clone();
    let name = format!(
        "serverpulse-{}-{}-{}",
        ctx.guild_id,
        what.key(),
        timeframe.key()
    );
    let rows = table.rows.len();
    let filename = format!("{name}.{}", format.key());
    let packed = build_file(filename, ctx.attachment_size_limit, move || match format {
        // The JSON header's `imported_history`, as the CSV's last column.
        ExportFormat::Csv => Ok(table
            .with_column("imported_history", csv_note.as_deref())
            .csv()
            .into_bytes()),
        ExportFormat::Json => serde_json::to_vec_pretty(&table.json(meta))
            .map_err(|e| format!("encoding an export: {e}")),
    })
    .await
    .map_err(|e| match e {
        FileError::TooLarge(e) => Failure::user(format!(
            "This export cannot be sent: {e}. Choose a shorter timeframe or export one part at a time."
        )),
        FileError::Failed(e) => Failure::Internal(e),
    })?;
    access::log(
        &ctx.state.pool,
        ctx.guild_id,
        &AccessEntry {
            at: ctx.now,
            actor: ctx.user_id,
            action: AccessAction::ReportExport,
            target: None,
            detail: json!({"what": what.key(), "format": format.key(), "period": period}),
        },
    )
    .await?;
    let mut text = format!(
        "`{}` over {period} as {}: {rows} row{}. The columns are described in the README's export section.",
        what.key(),
        format.key().to_uppercase(),
        if rows == 1 { "" } else { "s" }
    );
    if packed.compressed {
        text.push_str(
            " The file was larger than Discord's upload limit, so it is gzip-compressed.",
        );
    }
    if let Some(note) = imported {
        text.push_str(&format!("\n{}: {note}", crate::imported::TITLE));
    }
    Ok(Reply::Message(Message {
        content: Some(text),
        files: vec![packed.file],
        ephemeral: true,
        ..Message::default()
    }))
}
