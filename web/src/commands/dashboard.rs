//! `/dashboard open` (a private link to the web dashboard) and
//! `/dashboard revoke` (every link and session of the guild stops working).

use serde_json::json;
use shared::db::dashboard as store;
use shared::db::settings::record_audit;

use crate::context::Ctx;
use crate::dashboard::{self, access};
use crate::error::{Failure, Outcome};
use crate::reply::{Message, Reply};

fn require_access(ctx: &Ctx) -> Outcome<()> {
    if access::may_open(ctx.permissions) {
        Ok(())
    } else {
        Err(Failure::user(
            "Only members with the Manage Server permission can open the dashboard. Ask an admin.",
        ))
    }
}

/// An ephemeral message with a link for the member who asked.
pub(super) async fn open(ctx: &Ctx) -> Outcome<Reply> {
    require_access(ctx)?;
    ctx.tracked_settings().await?;
    let sees_private = access::sees_private(ctx.permissions);
    let link = dashboard::link(&ctx.state, ctx.guild_id, ctx.user_id, sees_private, ctx.now)
        .await?
        .ok_or_else(|| {
            Failure::user(
                "The dashboard is not set up on this ServerPulse: its operator has not set PUBLIC_URL.",
            )
        })?;
    Ok(Reply::Message(Message::notice(format!(
        "Your dashboard link (only you can see this message): {link}\n\
         It opens once and works for one hour; don't share it. Run `/dashboard revoke` to close every link and session of this server."
    ))))
}

/// Bumps the guild's generation: every link and session made before stops
/// working. Audited.
pub(super) async fn revoke(ctx: &Ctx) -> Outcome<Reply> {
    require_access(ctx)?;
    let generation = store::revoke(&ctx.state.pool, ctx.guild_id, ctx.now).await?;
    record_audit(
        &ctx.state.pool,
        ctx.guild_id,
        ctx.user_id,
        "dashboard_revoke",
        json!({ "generation": generation }),
    )
    .await?;
    Ok(Reply::Message(Message::notice(
        "Every dashboard link and session of this server has been revoked. Run /dashboard open for a new link.",
    )))
}
