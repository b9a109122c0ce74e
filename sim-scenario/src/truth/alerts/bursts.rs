//! The sliding-window detectors: join raids (joins by `joined_at`) and mass
//! deletions (deleted messages by arrival).

use std::collections::BTreeMap;

use super::{AlertKind, ExpectedIncident, IncidentDetail, KindParams};
use crate::snowflake_ms;
use crate::truth::{DAY_MS, GroundTruth};

/// Accounts younger than this at their join count as young.
const YOUNG_MS: i64 = 7 * DAY_MS;
/// The raid context counts the joins this long before the crossing.
const BEFORE_MS: i64 = 2 * 60_000;

/// One incident of a sliding-window detector, as indices into its events:
/// the first event of the crossing window, the crossing event, the last.
struct Burst {
    first: usize,
    cross: usize,
    last: usize,
}

/// Groups time-ordered events `(time, weight)` into incidents (see the
/// module documentation of `alerts` for the rules).
fn bursts(events: &[(i64, u32)], p: &KindParams) -> Vec<Burst> {
    let (window, quiet, cooldown) = (
        p.window_secs * 1000,
        p.quiet_secs * 1000,
        p.cooldown_secs * 1000,
    );
    let mut out = Vec::new();
    let mut open: Option<Burst> = None;
    // The first event a new window may reach, and when a new incident may
    // start: both move past an incident once it has ended.
    let (mut floor, mut allowed_from) = (0, i64::MIN);
    for (i, &(t, _)) in events.iter().enumerate() {
        if let Some(b) = open.as_mut() {
            if t <= events[b.last].0 + quiet {
                b.last = i;
                continue;
            }
            allowed_from = events[b.last].0 + quiet + cooldown;
            floor = b.last + 1;
            out.extend(open.take());
        }
        if t < allowed_from {
            continue;
        }
        let (mut first, mut sum) = (i, 0u64);
        for j in (floor..=i).rev() {
            if events[j].0 <= t - window {
                break;
            }
            sum += u64::from(events[j].1);
            first = j;
        }
        if sum as f64 >= p.threshold {
            open = Some(Burst {
                first,
                cross: i,
                last: i,
            });
        }
    }
    out.extend(open);
    out
}

impl GroundTruth {
    /// Join raids in `guild_id`: the joins are the stints of people (bots
    /// left out: an admin adds those, a raid does not) that begin inside
    /// the scenario, ordered by `joined_at` then user id.
    pub(super) fn expected_raids(&self, guild_id: u64, p: &KindParams) -> Vec<ExpectedIncident> {
        let mut joins: Vec<(i64, u64)> = self
            .members
            .iter()
            .filter(|m| {
                m.guild_id == guild_id && !m.is_bot && !m.initial && m.joined_ms >= self.start_ms
            })
            .map(|m| (m.joined_ms, m.user_id))
            .collect();
        joins.sort_unstable();
        let events: Vec<(i64, u32)> = joins.iter().map(|(t, _)| (*t, 1)).collect();
        bursts(&events, p)
            .into_iter()
            .map(|b| {
                let (started, detected, last) =
                    (joins[b.first].0, joins[b.cross].0, joins[b.last].0);
                let ours = &joins[b.first..=b.last];
                let young = ours
                    .iter()
                    .filter(|(t, user)| t - snowflake_ms(*user) < YOUNG_MS)
                    .count() as u32;
                let before = joins
                    .iter()
                    .filter(|(t, _)| *t >= detected - BEFORE_MS && *t < started)
                    .count() as u32;
                ExpectedIncident {
                    guild_id,
                    kind: AlertKind::JoinRaid,
                    started_ms: started,
                    detected_ms: detected,
                    last_event_ms: last,
                    ended_ms: self.ended(last, p),
                    count: ours.len() as u32,
                    detail: IncidentDetail::JoinRaid {
                        young_accounts: young,
                        default_avatars: ours.len() as u32,
                        joins_before: before,
                    },
                }
            })
            .collect()
    }

    /// Mass deletions in `guild_id`: every deletion event inside the
    /// scenario, by arrival, weighing the messages it deletes.
    pub(super) fn expected_mass_deletions(
        &self,
        guild_id: u64,
        p: &KindParams,
    ) -> Vec<ExpectedIncident> {
        let dels: Vec<_> = self
            .deletions
            .iter()
            .filter(|d| d.guild_id == guild_id && d.at_ms >= self.start_ms)
            .collect();
        let events: Vec<(i64, u32)> = dels.iter().map(|d| (d.at_ms, d.count)).collect();
        bursts(&events, p)
            .into_iter()
            .map(|b| {
                let ours = &dels[b.first..=b.last];
                let (mut single, mut bulk) = (0, 0);
                let mut channels = BTreeMap::new();
                for d in ours {
                    if d.bulk {
                        bulk += d.count;
                    } else {
                        single += d.count;
                    }
                    *channels.entry(d.channel_id).or_insert(0) += d.count;
                }
                let last = dels[b.last].at_ms;
                ExpectedIncident {
                    guild_id,
                    kind: AlertKind::MassDelete,
                    started_ms: dels[b.first].at_ms,
                    detected_ms: dels[b.cross].at_ms,
                    last_event_ms: last,
                    ended_ms: self.ended(last, p),
                    count: single + bulk,
                    detail: IncidentDetail::MassDelete {
                        single,
                        bulk,
                        channels: channels.into_iter().collect(),
                    },
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(threshold: f64, window_secs: i64, quiet_secs: i64, cooldown_secs: i64) -> KindParams {
        KindParams {
            enabled: true,
            threshold,
            window_secs,
            min_volume: 0,
            quiet_secs,
            cooldown_secs,
        }
    }

    fn spans(events: &[(i64, u32)], p: &KindParams) -> Vec<(usize, usize, usize)> {
        bursts(events, p)
            .into_iter()
            .map(|b| (b.first, b.cross, b.last))
            .collect()
    }

    #[test]
    fn the_window_is_open_at_its_far_edge() {
        let p = params(3.0, 10, 5, 0);
        // 0, 5 s, 10 s: the first is exactly 10 s before the third, so out.
        assert!(spans(&[(0, 1), (5_000, 1), (10_000, 1)], &p).is_empty());
        assert_eq!(
            spans(&[(0, 1), (5_000, 1), (9_999, 1)], &p),
            vec![(0, 2, 2)]
        );
    }

    #[test]
    fn weights_count_and_quiet_extends_then_ends() {
        let p = params(5.0, 30, 300, 0);
        // A bulk of 4 and a single cross at the single; one 300 s later
        // belongs, one 301 s after that does not (and cannot cross alone).
        let ev = [(0, 4), (1_000, 1), (301_000, 1), (602_001, 1)];
        assert_eq!(spans(&ev, &p), vec![(0, 1, 2)]);
    }

    #[test]
    fn cooldown_holds_off_a_second_incident_and_windows_skip_the_first() {
        let p = params(2.0, 60, 10, 100);
        // Incident 1: 0 and 1 s, ends at 11 s; cooldown until 111 s.
        let ev = [
            (0, 1),
            (1_000, 1),
            (50_000, 1),
            (60_000, 1),
            (111_000, 1),
            (112_000, 1),
        ];
        // 50 s and 60 s cross but are in the cooldown; 111 s crosses with
        // 60 s in its window (which ignores the first incident's events).
        assert_eq!(spans(&ev, &p), vec![(0, 1, 1), (3, 4, 5)]);
    }
}
