//! The acceptance-size scenario meets its floors and holds a DST change.

use std::collections::BTreeSet;

use chrono::{Offset, TimeZone};
use chrono_tz::{America::New_York, Europe::Berlin};
use sim_scenario::{ScenarioSize, generate};

#[test]
fn medium_meets_the_size_floors_and_crosses_dst() {
    let (s, t) = generate(2026, ScenarioSize::MEDIUM);
    assert_eq!(s.days, 30);
    assert!(s.events.len() >= 200_000, "only {} events", s.events.len());
    let members: BTreeSet<(u64, u64)> = t.members.iter().map(|m| (m.guild_id, m.user_id)).collect();
    assert!(members.len() >= 500, "only {} members", members.len());
    let end = s.start_ms + 30 * 86_400_000;
    assert_eq!(t.end_ms, end);
    for tz in [Berlin, New_York] {
        let offset = |ms| {
            tz.timestamp_millis_opt(ms)
                .unwrap()
                .offset()
                .fix()
                .local_minus_utc()
        };
        assert_ne!(
            offset(s.start_ms),
            offset(end - 1),
            "{tz} changes offset inside the data"
        );
    }
    // Every kind of activity shows up at this size too.
    assert!(t.raid.is_some() && t.mass_deletion.is_some());
    assert!(t.voice.len() > 1_000);
    assert!(t.reactions.iter().any(|r| !r.added));
    assert!(t.deletions.iter().filter(|d| !d.bulk).count() > 100);
}
