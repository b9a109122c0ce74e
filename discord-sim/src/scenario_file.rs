//! Scenarios read from a JSONL file of dispatches, one `{"t": ..., "d": ...}`
//! per line. `GUILD_CREATE` lines give the guilds' initial state; every other
//! line is a dispatch of the guild named by `d.guild_id` (guild events:
//! `d.id`). An optional `at_ms` per line places it on the scenario clock;
//! lines without one share the previous line's time.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;
use sim_scenario::{Dispatch, Scenario};

use crate::SimError;
use crate::gateway::guild_id_of;

#[derive(Deserialize)]
struct Line {
    t: String,
    d: Value,
    #[serde(default)]
    at_ms: Option<i64>,
}

/// Parses JSONL text; `path` only names the source in errors.
pub fn parse_jsonl(text: &str, path: &str) -> Result<Scenario, SimError> {
    let mut guilds = Vec::new();
    let mut events = Vec::new();
    let mut at_ms = 0;
    for (number, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let error = |message: String| SimError::ParseScenario {
            path: path.to_owned(),
            line: number + 1,
            message,
        };
        let line: Line = serde_json::from_str(raw).map_err(|e| error(e.to_string()))?;
        if let Some(at) = line.at_ms {
            if at < at_ms && !events.is_empty() {
                return Err(error(format!(
                    "at_ms {at} goes back in time (previous {at_ms})"
                )));
            }
            at_ms = at;
        }
        if line.t == "GUILD_CREATE" {
            if line.d.get("id").and_then(guild_id_of).is_none() {
                return Err(error("GUILD_CREATE without an id".into()));
            }
            guilds.push(line.d);
            continue;
        }
        let guild_id = line
            .d
            .get("guild_id")
            .or_else(|| {
                if line.t.starts_with("GUILD_") {
                    line.d.get("id")
                } else {
                    None
                }
            })
            .and_then(guild_id_of)
            .unwrap_or(0);
        events.push(Dispatch {
            at_ms,
            guild_id,
            t: line.t,
            d: line.d,
        });
    }
    let start_ms = events.first().map_or(0, |e| e.at_ms);
    Ok(Scenario {
        seed: 0,
        start_ms,
        days: 0,
        guilds,
        events,
    })
}

/// Reads a JSONL file of dispatches.
pub fn load_jsonl(path: &Path) -> Result<Scenario, SimError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| SimError::ReadScenario {
        path: shown.clone(),
        source,
    })?;
    parse_jsonl(&text, &shown)
}

/// Writes a scenario as JSONL: one `GUILD_CREATE` line per guild, then every
/// dispatch with its `at_ms`.
pub fn to_jsonl(scenario: &Scenario) -> String {
    let mut out = String::new();
    for guild in &scenario.guilds {
        out.push_str(&serde_json::json!({"t": "GUILD_CREATE", "d": guild}).to_string());
        out.push('\n');
    }
    for event in &scenario.events {
        out.push_str(
            &serde_json::json!({"t": event.t, "d": event.d, "at_ms": event.at_ms}).to_string(),
        );
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_routes_by_guild() {
        let text = concat!(
            "{\"t\":\"GUILD_CREATE\",\"d\":{\"id\":\"41\",\"name\":\"a\"}}\n",
            "{\"t\":\"MESSAGE_CREATE\",\"d\":{\"id\":\"9\",\"guild_id\":\"41\"},\"at_ms\":5}\n",
            "\n",
            "{\"t\":\"GUILD_UPDATE\",\"d\":{\"id\":\"41\",\"name\":\"b\"}}\n",
        );
        let scenario = parse_jsonl(text, "x").unwrap();
        assert_eq!(scenario.guilds.len(), 1);
        assert_eq!(scenario.events.len(), 2);
        assert_eq!(scenario.events[1].guild_id, 41);
        assert_eq!(scenario.events[1].at_ms, 5);
        let again = parse_jsonl(&to_jsonl(&scenario), "y").unwrap();
        assert_eq!(again.events, scenario.events);
        assert_eq!(again.guilds, scenario.guilds);
    }

    #[test]
    fn names_the_bad_line() {
        let err = parse_jsonl("{\"t\":\"X\",\"d\":{}}\nnot json\n", "f.jsonl").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
