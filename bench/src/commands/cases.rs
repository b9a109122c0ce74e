//! The command cases: every view as a user would invoke it.

use discord_sim::interactions::{CommandOption, OptionValue};

use crate::seed::SeededGuild;

/// One command as a user would invoke it.
#[derive(Debug, Clone)]
pub(super) struct CommandCase {
    pub(super) label: String,
    pub(super) name: String,
    pub(super) options: Vec<CommandOption>,
    /// We expect the answer to carry a chart (the report says what it did).
    pub(super) expected_chart: bool,
    /// The command's own name for the overview, for the naive ratio.
    pub(super) overview_timeframe: Option<&'static str>,
}

fn sub(name: &str, options: Vec<CommandOption>) -> CommandOption {
    CommandOption::new(name, OptionValue::Subcommand(options))
}

fn string(name: &str, value: &str) -> CommandOption {
    CommandOption::new(name, OptionValue::String(value.into()))
}

/// Every command the web crate answers, over a representative timeframe.
pub(super) fn command_cases(guild: &SeededGuild) -> Vec<CommandCase> {
    let case = |label: &str, name: &str, options: Vec<CommandOption>, chart: bool| CommandCase {
        label: label.to_owned(),
        name: name.to_owned(),
        options,
        expected_chart: chart,
        overview_timeframe: None,
    };
    let channel = |id: shared::Snowflake, kind: u8| {
        CommandOption::new(
            "channel",
            OptionValue::Channel {
                id: id.0,
                name: "general".into(),
                kind,
            },
        )
    };
    let user = |id: shared::Snowflake| {
        CommandOption::new(
            "user",
            OptionValue::User {
                id: id.0,
                username: "member".into(),
            },
        )
    };
    let mut cases = Vec::new();
    for timeframe in ["7d", "30d", "all"] {
        let mut overview = case(
            &format!("serverstats overview {timeframe}"),
            "serverstats",
            vec![sub("overview", vec![string("timeframe", timeframe)])],
            true,
        );
        overview.overview_timeframe = Some(timeframe);
        cases.push(overview);
    }
    for (category, chart) in [("growth", true), ("activity", false), ("top", false)] {
        cases.push(case(
            &format!("serverstats members {category} 30d"),
            "serverstats",
            vec![sub(
                "members",
                vec![string("timeframe", "30d"), string("category", category)],
            )],
            chart,
        ));
    }
    for (subcommand, option, value, chart) in [
        ("activity", "type", "messages", true),
        ("activity", "type", "voice", true),
        ("channels", "type", "text", false),
    ] {
        cases.push(case(
            &format!("serverstats {subcommand} {value} 30d"),
            "serverstats",
            vec![sub(
                subcommand,
                vec![string("timeframe", "30d"), string(option, value)],
            )],
            chart,
        ));
    }
    cases.push(case(
        "serverstats trends messages 90d",
        "serverstats",
        vec![sub(
            "trends",
            vec![string("timeframe", "90d"), string("metric", "messages")],
        )],
        true,
    ));
    let analyze = |name: &str, options: Vec<CommandOption>| {
        vec![CommandOption::new(
            "analyze",
            OptionValue::SubcommandGroup(vec![sub(name, options)]),
        )]
    };
    cases.push(case(
        "activity analyze member (top member) 30d",
        "activity",
        analyze(
            "member",
            vec![user(guild.top_member), string("timeframe", "30d")],
        ),
        true,
    ));
    cases.push(case(
        "activity analyze channel (busiest) 30d",
        "activity",
        analyze(
            "channel",
            vec![
                channel(guild.busiest_channel, 0),
                string("metric", "messages"),
                string("timeframe", "30d"),
            ],
        ),
        true,
    ));
    cases.push(case(
        "activity analyze comparative messages 30d",
        "activity",
        analyze(
            "comparative",
            vec![string("metric", "messages"), string("timeframe", "30d")],
        ),
        true,
    ));
    for timeframe in ["7d", "all"] {
        cases.push(case(
            &format!("topmessagers {timeframe}"),
            "topmessagers",
            vec![string("timeframe", timeframe)],
            false,
        ));
    }
    for metric in ["messages", "voice"] {
        cases.push(case(
            &format!("leaderboard {metric} 30d"),
            "leaderboard",
            vec![string("metric", metric), string("timeframe", "30d")],
            false,
        ));
    }
    // The settings commands write (settings, audit trail, notification) and
    // come last, since removing a channel switches the guild to an allow-list.
    cases.push(case(
        "setup (tracking on, timezone UTC)",
        "setup",
        vec![
            CommandOption::new("tracking", OptionValue::Boolean(true)),
            string("timezone", "UTC"),
        ],
        false,
    ));
    for name in [
        "set-update-channel",
        "add-collect-channel",
        "remove-collect-channel",
    ] {
        cases.push(case(
            &format!("{name} (busiest)"),
            name,
            vec![channel(guild.busiest_channel, 0)],
            false,
        ));
    }
    cases
}
