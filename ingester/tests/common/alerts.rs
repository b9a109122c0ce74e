//! The incidents the ingester recorded against the alerts the ground truth
//! expects (sim-scenario's own implementation of the four detectors, with
//! the default settings).

use std::collections::BTreeMap;

use shared::Snowflake;
use shared::alerts::{AlertKind, Incident, IncidentDetail};
use shared::testing::TestDatabase;
use sim_scenario::truth::{self, AlertParams, ExpectedIncident, GroundTruth};

/// What is compared of an incident: kind, times, count and context, with
/// channel lists by channel id and the usual rounded to a tenth.
type Comparable = (AlertKind, i64, i64, i64, Option<i64>, i64, String);

fn kind_of(kind: truth::AlertKind) -> AlertKind {
    match kind {
        truth::AlertKind::JoinRaid => AlertKind::JoinRaid,
        truth::AlertKind::MassDelete => AlertKind::MassDelete,
        truth::AlertKind::ActivityDrop => AlertKind::ActivityDrop,
        truth::AlertKind::VoiceSurge => AlertKind::VoiceSurge,
    }
}

fn channels(list: &[(u64, u32)]) -> Vec<(u64, u32)> {
    let mut list = list.to_vec();
    list.sort_unstable();
    list
}

fn expected(e: &ExpectedIncident) -> Comparable {
    let detail = match &e.detail {
        truth::IncidentDetail::JoinRaid {
            young_accounts,
            default_avatars,
            joins_before,
        } => format!(
            "young {young_accounts}, default avatars {default_avatars}, before {joins_before}"
        ),
        truth::IncidentDetail::MassDelete {
            single,
            bulk,
            channels: c,
        } => format!("single {single}, bulk {bulk}, channels {:?}", channels(c)),
        truth::IncidentDetail::ActivityDrop {
            hour_ms,
            messages,
            usual,
            hours,
            ..
        } => format!("hour {hour_ms}, messages {messages}, usual {usual:.1}, hours {hours}"),
        truth::IncidentDetail::VoiceSurge {
            people,
            usual,
            channels: c,
        } => format!(
            "people {people}, usual {usual:.1}, channels {:?}",
            channels(c)
        ),
    };
    (
        kind_of(e.kind),
        e.started_ms,
        e.detected_ms,
        e.last_event_ms,
        e.ended_ms,
        i64::from(e.count),
        detail,
    )
}

fn stored(i: &Incident) -> Comparable {
    let ids = |list: &[(Snowflake, u32)]| -> Vec<(u64, u32)> {
        channels(&list.iter().map(|(c, n)| (c.0, *n)).collect::<Vec<_>>())
    };
    let detail = match &i.detail {
        IncidentDetail::JoinRaid {
            young_accounts,
            default_avatars,
            joins_before,
        } => format!(
            "young {young_accounts}, default avatars {default_avatars}, before {joins_before}"
        ),
        IncidentDetail::MassDelete {
            single,
            bulk,
            channels: c,
        } => format!("single {single}, bulk {bulk}, channels {:?}", ids(c)),
        IncidentDetail::ActivityDrop {
            hour,
            messages,
            usual,
            hours,
        } => format!(
            "hour {}, messages {messages}, usual {usual:.1}, hours {hours}",
            hour.timestamp_millis()
        ),
        IncidentDetail::VoiceSurge {
            people,
            usual,
            channels: c,
        } => format!("people {people}, usual {usual:.1}, channels {:?}", ids(c)),
    };
    (
        i.kind,
        i.started_at.timestamp_millis(),
        i.detected_at.timestamp_millis(),
        i.last_event_at.timestamp_millis(),
        i.ended_at.map(|t| t.timestamp_millis()),
        i64::from(i.count),
        detail,
    )
}

/// Every guild's incidents equal the expected alerts, one for one.
pub async fn assert_alerts_equal_truth(db: &TestDatabase, truth: &GroundTruth) {
    let expected_all = truth.expected_alerts(&AlertParams::default());
    let mut by_guild: BTreeMap<u64, Vec<Comparable>> = BTreeMap::new();
    for e in &expected_all {
        by_guild.entry(e.guild_id).or_default().push(expected(e));
    }
    for guild in &truth.guild_ids {
        let mut incidents: Vec<Comparable> =
            shared::db::alerts::recent_incidents(&db.pool, Snowflake(*guild), None, 1000)
                .await
                .expect("incidents")
                .iter()
                .map(stored)
                .collect();
        incidents.sort();
        let mut want = by_guild.remove(guild).unwrap_or_default();
        want.sort();
        assert_eq!(incidents, want, "alert incidents of guild {guild}");
    }
}
