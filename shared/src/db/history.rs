//! Replayed history: when a guild's past is fed through the ingester (the
//! demo replays 30 simulated days), tracking must count from the start of
//! that past, not from the moment an admin ran `/setup`.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::DbError;
use super::settings::record_audit;
use crate::ids::Snowflake;

/// Moves `tracking_since` of a guild whose tracking is on back to `since`,
/// with an audit entry. Returns whether the guild had tracking on.
pub async fn backdate_tracking(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    actor_id: Snowflake,
    since: DateTime<Utc>,
) -> Result<bool, DbError> {
    let changed = sqlx::query(
        "update guild_settings set tracking_since = $2, updated_at = now()
         where guild_id = $1 and tracking_enabled",
    )
    .bind(guild_id)
    .bind(since)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        > 0;
    if changed {
        record_audit(
            conn,
            guild_id,
            actor_id,
            "tracking.backdate",
            serde_json::json!({ "since": since }),
        )
        .await?;
    }
    Ok(changed)
}
