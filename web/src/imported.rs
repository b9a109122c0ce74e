//! What imported history cannot tell, said in one wording wherever figures
//! of imported days show: command reports, the dashboard, digests and
//! exports. A backfill ([`crate::backfill`]) fills `[from, until)` from
//! Discord's message history, which knows messages and reactions as totals
//! per message, not who reacted, who left, voice or deletions.

use chrono::{DateTime, Utc};
use shared::Snowflake;
use shared::db::DbError;
use sqlx::PgExecutor;

/// The title the note goes under.
pub const TITLE: &str = "📥 Imported history";

/// The note, `until` being when imported history ends (as the medium shows
/// times: a Discord timestamp in embeds, a date on the dashboard).
pub fn note(until: &str) -> String {
    format!(
        "Before {until} the figures were imported from message history, which holds less than \
         live tracking: reactions there are totals per message, bots' reactions included (history \
         gives counts only, not who reacted), counted as received; reactions given are not in them. \
         Joins there are hourly totals of the members still present (history does not say who \
         left), so join cohorts start at {until}. Leaves, voice and deletions are not in history."
    )
}

/// Said beside join cohorts whose period reaches into imported days.
pub fn cohort_note(until: &str) -> String {
    format!(
        "Cohorts start at {until}: before it, joins were imported from the member list, which \
         holds only the members still present, so no cohort is made of them."
    )
}

/// `until` as a Discord timestamp, for embeds.
pub fn discord_time(until: DateTime<Utc>) -> String {
    format!("<t:{}:f>", until.timestamp())
}

/// When imported history ends, if the guild's figures of `[from, to)`
/// reach into it (an import started and its range overlaps).
pub async fn until_within<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, DbError> {
    let range = shared::db::backfill::imported_range(executor, guild_id).await?;
    Ok(range.and_then(|(start, until)| (from < until && to > start).then_some(until)))
}

/// [`until_within`] for a report's frame: its period, or the one it is
/// compared with, reaching into imported history.
pub async fn frame_until<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    frame: &crate::report::frame::Frame,
) -> Result<Option<DateTime<Utc>>, DbError> {
    let start = frame
        .previous
        .map_or(frame.period.from, |p| p.from.min(frame.period.from));
    until_within(executor, guild_id, start, frame.period.to).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_says_what_history_cannot_tell() {
        let text = note("1 Oct");
        for said in [
            "bots' reactions included",
            "reactions given are not in them",
            "join cohorts start at 1 Oct",
            "Leaves, voice and deletions are not in history",
        ] {
            assert!(text.contains(said), "{said}: {text}");
        }
    }
}
