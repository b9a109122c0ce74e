//! Who may open a guild's dashboard, what they see, and the sessions that
//! carry it. Each decision lives in one function here, so the roles of the
//! access settings and members' own privacy choices are added in one place.
//!
//! - [`may_open`]: who gets a link (`/dashboard`, `/dashboard revoke`).
//! - [`sees_private`]: who sees private channels named, as in the commands
//!   ([`crate::context::Ctx::is_admin`], applied by `report::privacy`).
//! - [`member_label`]: how a member is named on a page.

use axum::http::HeaderMap;
use axum::http::header::{COOKIE, SET_COOKIE};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore as _;
use shared::Snowflake;
use shared::db::dashboard::{self as store, StoredSession};
use twilight_model::guild::Permissions;

use super::token::{LinkClaims, digest};
use crate::AppState;
use crate::context::Ctx;

/// How long a session lasts after its link was opened.
pub const SESSION_LIFETIME: Duration = Duration::hours(12);
/// The session cookie's name.
pub const COOKIE_NAME: &str = "sp_session";

/// Who may open the dashboard and get or revoke its links: members with
/// Manage Server or Administrator, as for the settings commands.
pub fn may_open(permissions: Permissions) -> bool {
    permissions.intersects(Permissions::MANAGE_GUILD | Permissions::ADMINISTRATOR)
}

/// Whether the member sees private channels named and analysed: the same
/// rule the commands apply ([`Ctx::is_admin`]).
pub fn sees_private(permissions: Permissions) -> bool {
    permissions.intersects(Permissions::MANAGE_GUILD | Permissions::ADMINISTRATOR)
}

/// How a member is named on a page. The commands show a mention, which
/// Discord renders with the name; ServerPulse keeps no names, so the page
/// shows the id Discord's mention is made of.
pub fn member_label(user: Snowflake) -> String {
    format!("member {user}")
}

/// A session in use: one member's view of one guild.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    pub guild_id: Snowflake,
    pub user_id: Snowflake,
    pub sees_private: bool,
    /// The SHA-256 of the cookie's id (the rate limit's key).
    pub session_hash: [u8; 32],
}

impl Viewer {
    /// The context the reports are read with: the permissions that decide
    /// what the commands show this member.
    pub fn ctx(&self, state: &AppState, now: DateTime<Utc>) -> Ctx {
        Ctx {
            state: state.clone(),
            interaction_id: Snowflake(0),
            guild_id: self.guild_id,
            user_id: self.user_id,
            channel_id: None,
            permissions: if self.sees_private {
                Permissions::MANAGE_GUILD
            } else {
                Permissions::empty()
            },
            // Only Manage Server opens a dashboard, and `/access` rules
            // never restrict Manage Server, so no roles are needed here.
            roles: Vec::new(),
            // Pages serve their own CSV files; nothing is uploaded to
            // Discord from a page.
            attachment_size_limit: 0,
            now,
            channel_names: std::collections::HashMap::new(),
        }
    }
}

/// Exchanges a verified link for a new session; `None` when the link was
/// used before. Returns the cookie's id (kept only by the browser).
pub async fn open_session(
    state: &AppState,
    token: &str,
    claims: &LinkClaims,
    now: DateTime<Utc>,
) -> Result<Option<String>, shared::db::DbError> {
    let mut id = [0u8; 32];
    rand::rng().fill_bytes(&mut id);
    let id = URL_SAFE_NO_PAD.encode(id);
    let session = StoredSession {
        guild_id: claims.guild_id,
        user_id: claims.user_id,
        generation: claims.generation,
        sees_private: claims.sees_private,
        expires_at: now + SESSION_LIFETIME,
    };
    let opened = store::open_session(
        &state.pool,
        &digest(token),
        claims.expires_at,
        &digest(&id),
        session,
        now,
    )
    .await?;
    Ok(opened.then_some(id))
}

/// The session the request's cookie names, if it is live and for `guild`.
pub async fn viewer(
    state: &AppState,
    guild: Snowflake,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Result<Option<Viewer>, shared::db::DbError> {
    let Some(id) = cookie(headers, COOKIE_NAME) else {
        return Ok(None);
    };
    let hash = digest(&id);
    let Some(session) = store::live_session(&state.pool, &hash, now).await? else {
        return Ok(None);
    };
    if session.guild_id != guild {
        return Ok(None);
    }
    Ok(Some(Viewer {
        guild_id: session.guild_id,
        user_id: session.user_id,
        sees_private: session.sees_private,
        session_hash: hash,
    }))
}

/// `Set-Cookie` for a session of `guild`: never sent to scripts, over
/// plain HTTP, from other sites, or to another guild's pages.
pub fn set_cookie(headers: &mut HeaderMap, guild: Snowflake, id: &str) {
    let value = format!(
        "{COOKIE_NAME}={id}; Path=/g/{guild}; Max-Age={}; HttpOnly; Secure; SameSite=Strict",
        SESSION_LIFETIME.num_seconds()
    );
    if let Ok(value) = value.parse() {
        headers.append(SET_COOKIE, value);
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_read_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, "a=1; sp_session=abc; b=2".parse().unwrap());
        assert_eq!(cookie(&headers, COOKIE_NAME).as_deref(), Some("abc"));
        let mut set = HeaderMap::new();
        set_cookie(&mut set, Snowflake(9), "xyz");
        let value = set.get(SET_COOKIE).unwrap().to_str().unwrap();
        for part in [
            "sp_session=xyz",
            "Path=/g/9",
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
        ] {
            assert!(value.contains(part), "{value}");
        }
    }
}
