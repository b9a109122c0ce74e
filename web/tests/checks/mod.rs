//! Report checks against ground truth, shared by the seeded tests
//! (`reports.rs`) and the end-to-end tests through the real ingester
//! (`e2e.rs`). Hours and days are in Europe/Berlin, and each fixture's data
//! holds a daylight-saving change.
#![allow(dead_code)]

pub mod figures;

use chrono_tz::Europe::Berlin;
use discord_sim::{FinalMessage, InteractionKind};
use serverpulse_web::reply::{duration, escape_markdown, int};
use sim_scenario::truth::{GroundTruth, LeaderboardMetric, Scope};

use crate::common::*;

pub struct Fixture {
    pub app: App,
    pub truth: GroundTruth,
    pub guild: u64,
    /// A local date whose length the DST change alters.
    pub dst_day: chrono::NaiveDate,
    /// Attachments and embeds are known (seeded); through the gateway
    /// without MESSAGE_CONTENT they arrive empty.
    pub content_known: bool,
    /// The guild counts bots (`/setup count_bots:true`): the truth is
    /// asked with bots included.
    pub count_bots: bool,
    /// From when the guild has data (tracking on before the scenario
    /// started: `None`; seeded rollups: the first seeded hour). A previous
    /// period reaching before it is not compared.
    pub data_since_ms: Option<i64>,
}

impl Fixture {
    fn bots(&self, scope: Scope) -> Scope {
        if self.count_bots {
            scope.including_bots()
        } else {
            scope
        }
    }
    pub fn scope(&self, days: i64) -> Scope {
        self.bots(Scope::new(
            self.guild,
            self.truth.end_ms - days * DAY_MS,
            self.truth.end_ms,
        ))
    }
    pub fn previous(&self, days: i64) -> Scope {
        self.bots(Scope::new(
            self.guild,
            self.truth.end_ms - 2 * days * DAY_MS,
            self.truth.end_ms - days * DAY_MS,
        ))
    }
    /// Whether the `days` before the last `days` are compared with them:
    /// only when they lie wholly after the data began.
    pub fn compared(&self, days: i64) -> bool {
        self.data_since_ms
            .is_none_or(|since| self.truth.end_ms - 2 * days * DAY_MS >= since)
    }
    /// `previous` when the last `days` are compared with the days before.
    pub fn before(&self, days: i64, previous: i64) -> Option<i64> {
        self.compared(days).then_some(previous)
    }
    /// What a figure compared with a previous period partly before the
    /// data says instead of a change.
    pub fn not_compared(&self) -> String {
        let since = self.data_since_ms.expect("data since a known instant") / 1000;
        format!("not compared: no data before <t:{since}:f> (partway through the previous period)")
    }
    pub fn all(&self) -> Scope {
        self.bots(Scope::new(
            self.guild,
            self.truth.start_ms,
            self.truth.end_ms,
        ))
    }
    /// Switches the guild's `count_bots` the way an admin does, and the
    /// truth the checks compare with.
    pub async fn count_bots(&mut self, count: bool) {
        let setup = command("setup", vec![boolean("count_bots", count)]);
        let answer = final_message(&self.app, &setup, &admin(self.guild)).await;
        let shown = if count {
            "counted in every figure"
        } else {
            "left out of every figure"
        };
        assert_eq!(field(&answer, "Bots"), shown);
        self.count_bots = count;
    }
    pub async fn show(&self, kind: &InteractionKind) -> FinalMessage {
        let message = final_message(&self.app, kind, &admin(self.guild)).await;
        assert!(!message.ephemeral(), "{:?}", message.message);
        message
    }
    pub fn channel_name(&self, id: u64) -> String {
        self.truth
            .channels
            .iter()
            .find(|c| c.channel_id == id)
            .map(|c| c.name.clone())
            .unwrap()
    }
}

fn stats(
    sub_name: &str,
    timeframe: &str,
    extra: Vec<discord_sim::CommandOption>,
) -> InteractionKind {
    let mut options = vec![string("timeframe", timeframe)];
    options.extend(extra);
    command("serverstats", vec![sub(sub_name, options)])
}

fn voice_total(truth: &GroundTruth, scope: &Scope) -> i64 {
    truth.voice_seconds(scope).values().sum()
}

fn reactions(truth: &GroundTruth, scope: &Scope) -> i64 {
    truth.reactions_given(scope).values().sum::<u64>() as i64
}

fn expected_peak(cells: &[[u64; 24]; 7]) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let mut best: Option<(usize, usize, u64)> = None;
    for (d, hours) in cells.iter().enumerate() {
        for (h, v) in hours.iter().enumerate() {
            if *v > 0 && best.is_none_or(|b| *v > b.2) {
                best = Some((d, h, *v));
            }
        }
    }
    let (d, h, v) = best.unwrap();
    format!(
        "{} {h:02}:00–{:02}:00 ({})",
        DAYS[d],
        (h + 1) % 24,
        int(v as i64)
    )
}

pub async fn overview_and_activity(f: &Fixture) {
    let t = &f.truth;
    for (key, days) in [("7d", 7), ("24h", 1)] {
        let (s, p) = (f.scope(days), f.previous(days));
        let m = f.show(&stats("overview", key, vec![])).await;
        if !f.compared(days) {
            // The demo's "Joins 147 ↑ 2350.0% (6 before)": a previous
            // period partly before the data shows no change, and says why.
            for name in ["Messages", "Joins", "Active members", "Voice time"] {
                assert!(
                    field(&m, name).ends_with(&format!(" · {}", f.not_compared())),
                    "{key} {name}: {}",
                    field(&m, name)
                );
                assert!(!field(&m, name).contains('%'), "{}", field(&m, name));
            }
        }
        assert_eq!(
            figure(field(&m, "Messages")),
            (
                t.messages_total(&s) as i64,
                f.before(days, t.messages_total(&p) as i64)
            ),
            "{key}"
        );
        assert_eq!(
            figure_with(field(&m, "Voice time"), seconds),
            (voice_total(t, &s), f.before(days, voice_total(t, &p))),
            "{key}"
        );
        assert_eq!(
            figure(field(&m, "Reactions")),
            (reactions(t, &s), f.before(days, reactions(t, &p)))
        );
        let (g, gp) = (t.growth(&s), t.growth(&p));
        assert_eq!(
            figure(field(&m, "Joins")),
            (g.joins as i64, f.before(days, gp.joins as i64))
        );
        assert_eq!(
            figure(field(&m, "Leaves")),
            (g.leaves as i64, f.before(days, gp.leaves as i64))
        );
        assert_eq!(
            figure(field(&m, "Net growth")),
            (g.net, f.before(days, gp.net))
        );
        assert_eq!(
            figure(field(&m, "Active members")),
            (
                t.activity_ratio(&s).active as i64,
                f.before(days, t.activity_ratio(&p).active as i64)
            )
        );
        let threads = |scope: &Scope| {
            t.threads_per_parent(scope)
                .values()
                .map(|c| c.created as i64)
                .sum::<i64>()
        };
        assert_eq!(
            figure(field(&m, "Threads created")),
            (threads(&s), f.before(days, threads(&p)))
        );
        assert_eq!(
            figure(field(&m, "Deleted messages")),
            (
                t.deletion_summary(&s).messages as i64,
                f.before(days, t.deletion_summary(&p).messages as i64)
            )
        );
        assert_eq!(
            figure(field(&m, "Members at the end")).0,
            t.member_count_at(f.guild, t.end_ms, f.count_bots) as i64
        );
        assert_eq!(
            field(&m, "Peak time"),
            expected_peak(&t.message_heatmap(&s, Berlin))
        );
        assert_eq!(png_sizes(&m), vec![(960, 480)], "one chart");
        assert_eq!(embed(&m)["image"]["url"], "attachment://overview.png");
    }

    // Activity per local day across the DST day, and the heatmap peak.
    let s = f.scope(7);
    let m = f
        .show(&stats("activity", "7d", vec![string("type", "messages")]))
        .await;
    let days = per_day(description(&m));
    let truth_days = t.messages_per_local_day(&s, Berlin);
    assert!(days.contains_key(&f.dst_day), "{days:?}");
    // The partial days say so: the first (the period starts at 01:00 or
    // 02:00 local) and the day in progress, never shown as whole days.
    let lines: Vec<&str> = description(&m)
        .lines()
        .filter(|l| l.starts_with('`'))
        .collect();
    assert!(lines[0].ends_with(" (partial day)"), "{lines:?}");
    assert!(lines[lines.len() - 1].ends_with(" (so far)"), "{lines:?}");
    assert!(
        lines[1..lines.len() - 1].iter().all(|l| !l.ends_with(')')),
        "{lines:?}"
    );
    for (day, value) in &days {
        assert_eq!(
            parse_int(value),
            truth_days.get(day).copied().unwrap_or(0) as i64,
            "{day}"
        );
    }
    assert_eq!(
        days.len(),
        8,
        "7 × 24 h from a UTC midnight touch 8 Berlin dates"
    );
    assert_eq!(
        field(&m, "Peak hour"),
        expected_peak(&t.message_heatmap(&s, Berlin))
    );
    let content = t.content_counts(&s);
    // Without MESSAGE_CONTENT the gateway withholds other people's
    // attachments and embeds, so through the ingester they are zero.
    let (attachments, embeds) = if f.content_known {
        (content.attachments as i64, content.embeds as i64)
    } else {
        (0, 0)
    };
    assert_eq!(figure(field(&m, "Attachments")).0, attachments);
    assert_eq!(figure(field(&m, "Embeds")).0, embeds);
    assert_eq!(figure(field(&m, "Stickers")).0, content.stickers as i64);
    assert_eq!(png_sizes(&m), vec![(960, 480)]);

    let m = f
        .show(&stats("activity", "all", vec![string("type", "voice")]))
        .await;
    let all = f.all();
    assert_eq!(
        figure_with(field(&m, "Voice time"), seconds),
        (voice_total(t, &all), None)
    );
    let voice_days = t.voice_ms_per_local_day(&all, Berlin);
    for (day, value) in per_day(description(&m)) {
        assert_eq!(
            seconds(&value) * 1000,
            voice_days.get(&day).copied().unwrap_or(0),
            "{day}"
        );
    }

    let m = f
        .show(&stats("activity", "7d", vec![string("type", "reactions")]))
        .await;
    assert_eq!(figure(field(&m, "Reactions added")).0, reactions(t, &s));
    let removed: u64 = t.reactions_removed(&s).values().sum();
    assert_eq!(figure(field(&m, "Reactions removed")).0, removed as i64);
    let per_day_truth = t.reactions_per_local_day(&s, Berlin);
    for (day, value) in per_day(description(&m)) {
        assert_eq!(
            parse_int(&value),
            per_day_truth.get(&day).copied().unwrap_or(0) as i64
        );
    }

    let m = f
        .show(&stats("activity", "7d", vec![string("type", "threads")]))
        .await;
    let thread_messages: u64 = t.thread_messages_per_parent(&s).values().sum();
    assert_eq!(
        figure(field(&m, "Thread messages")).0,
        thread_messages as i64
    );
}

pub async fn members_channels_and_trends(f: &Fixture) {
    let t = &f.truth;
    let (s, all) = (f.scope(7), f.all());

    let m = f
        .show(&stats("members", "all", vec![string("category", "growth")]))
        .await;
    let g = t.growth(&all);
    assert_eq!(figure(field(&m, "Joins")), (g.joins as i64, None));
    assert_eq!(figure(field(&m, "Leaves")).0, g.leaves as i64);
    assert_eq!(figure(field(&m, "Rejoins")).0, g.rejoins as i64);
    assert_eq!(figure(field(&m, "Net growth")).0, g.net);
    assert_eq!(
        field(&m, "Members"),
        format!(
            "**{}** at the end ({} at the start)",
            int(t.member_count_at(f.guild, t.end_ms, f.count_bots) as i64),
            int(t.member_count_at(f.guild, t.start_ms, f.count_bots) as i64)
        )
    );

    let m = f
        .show(&stats(
            "members",
            "7d",
            vec![string("category", "activity")],
        ))
        .await;
    let ratio = t.activity_ratio(&s);
    assert_eq!(figure(field(&m, "Active members")).0, ratio.active as i64);
    assert_eq!(
        figure(field(&m, "Members in the period")).0,
        ratio.members as i64
    );
    assert_eq!(
        figure(field(&m, "Inactive members")).0,
        ratio.inactive() as i64
    );

    let m = f
        .show(&stats(
            "members",
            "all",
            vec![string("category", "retention")],
        ))
        .await;
    let activation = t.activation(&all);
    let retention = t.retention(&all, t.end_ms);
    assert!(
        field(&m, "Activated (posted within 7 days)").starts_with(&format!(
            "{} of {}\n",
            int(activation.activated as i64),
            int(activation.joined as i64)
        )),
        "{}",
        field(&m, "Activated (posted within 7 days)")
    );
    assert!(
        field(&m, "Still members after 7 days").starts_with(&format!(
            "{} of {} eligible",
            int(retention.retained_7d as i64),
            int(retention.eligible_7d as i64)
        ))
    );
    // Ten days of data: nobody joined 30 days before its end. Instead of
    // "0 of 0 eligible ░░░░ 0.0%", the share says what it needs.
    assert_eq!(retention.eligible_30d, 0);
    assert_eq!(
        field(&m, "Still members after 30 days"),
        "– needs members who joined 30+ days ago"
    );

    let m = f
        .show(&stats("members", "7d", vec![string("category", "top")]))
        .await;
    let expected: Vec<(u64, i64)> = t
        .top_messagers(&s, 10)
        .iter()
        .map(|r| (r.user_id, r.value as i64))
        .collect();
    assert_eq!(ranking_numbers(description(&m)), expected);

    // Channels: messages per top-level channel, voice with peaks, threads, forum.
    let m = f
        .show(&stats("channels", "7d", vec![string("type", "text")]))
        .await;
    let per_parent = t.messages_per_parent_channel(&s);
    let listed = channel_lines(description(&m));
    assert!(!listed.is_empty());
    for (id, count) in &listed {
        assert_eq!(*count, per_parent[id] as i64, "<#{id}>");
    }
    let m = f
        .show(&stats("channels", "7d", vec![string("type", "voice")]))
        .await;
    let voice = t.voice_ms_per_channel(&s);
    let peaks = t.peak_concurrent(&s);
    for line in description(&m).lines() {
        let (channel, rest) = line.split_once(" — ").unwrap();
        let id = mentioned_channel(channel);
        let (time, peak) = rest.split_once(" · peak ").unwrap();
        assert_eq!(seconds(time) * 1000, voice[&id], "{channel}");
        let truth_peak = peaks
            .iter()
            .filter(|((c, _), _)| *c == id)
            .map(|(_, p)| *p)
            .max()
            .unwrap();
        assert!(peak.starts_with(&format!("{truth_peak} at once")), "{peak}");
    }
    let m = f
        .show(&stats("channels", "7d", vec![string("type", "threads")]))
        .await;
    let thread_messages = t.thread_messages_per_parent(&s);
    let created = t.threads_per_parent(&s);
    for line in description(&m).lines() {
        let (channel, rest) = line.split_once(" — ").unwrap();
        let id = mentioned_channel(channel);
        let (messages, threads) = rest.split_once(" thread messages · ").unwrap();
        assert_eq!(
            parse_int(messages),
            thread_messages.get(&id).copied().unwrap_or(0) as i64,
            "{channel}"
        );
        assert_eq!(
            parse_int(threads.trim_end_matches(" threads created")),
            created.get(&id).map_or(0, |c| c.created) as i64,
            "{channel}"
        );
    }
    let m = f
        .show(&stats("channels", "7d", vec![string("type", "forum")]))
        .await;
    for (id, count) in channel_lines(description(&m)) {
        let forum = t.channels.iter().find(|c| c.channel_id == id).unwrap();
        assert_eq!(forum.kind, 15);
        assert_eq!(count, per_parent[&forum.channel_id] as i64);
    }

    // Trends: the daily series in Berlin days, with a forecast.
    let m = f
        .show(&stats("trends", "all", vec![string("metric", "messages")]))
        .await;
    let truth_days = t.messages_per_local_day(&all, Berlin);
    let days = per_day(description(&m));
    assert_eq!(days.len(), 11, "10 UTC days touch 11 Berlin dates");
    for (day, value) in &days {
        assert_eq!(
            parse_int(value),
            truth_days.get(day).copied().unwrap_or(0) as i64,
            "{day}"
        );
    }
    assert!(field(&m, "Forecast, next 10 days").contains("least-squares"));
    assert_eq!(png_sizes(&m), vec![(960, 480)]);
    let m = f
        .show(&stats("trends", "7d", vec![string("metric", "members")]))
        .await;
    let last = per_day(description(&m)).into_values().last().unwrap();
    assert_eq!(
        parse_int(&last),
        t.member_count_at(f.guild, t.end_ms, f.count_bots) as i64
    );
    for metric in ["voice", "reactions"] {
        let m = f
            .show(&stats("trends", "30d", vec![string("metric", metric)]))
            .await;
        assert!(field(&m, "Weekly cycle (mean per day)").contains("Sun"));
    }
}

/// `<#id> — 123 messages · …` lines: channels are mentions in embeds.
pub fn channel_lines(text: &str) -> Vec<(u64, i64)> {
    text.lines()
        .filter_map(|line| {
            let (channel, rest) = line.split_once(" — ")?;
            let (count, _) = rest.split_once(" messages")?;
            Some((mentioned_channel(channel), parse_int(count)))
        })
        .collect()
}

/// The id in a channel mention `<#id>`.
pub fn mentioned_channel(text: &str) -> u64 {
    text.trim()
        .strip_prefix("<#")
        .and_then(|t| t.strip_suffix('>'))
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not a channel mention: {text:?}"))
}

pub async fn member_channel_comparative_and_rankings(f: &Fixture) {
    let t = &f.truth;
    let (s, p) = (f.scope(7), f.previous(7));
    let top = t.top_messagers(&s, 3);
    let user_id = top[0].user_id;

    let analyze =
        |name: &str, options| command("activity", vec![group("analyze", vec![sub(name, options)])]);
    let m = f
        .show(&analyze(
            "member",
            vec![user("user", user_id), string("timeframe", "7d")],
        ))
        .await;
    let mine = s.clone().user(user_id);
    let before = p.clone().user(user_id);
    // Member "Messages 3,497 new (0 before)" when nothing was recorded
    // before: against a previous period partly before the data, the
    // member's figures say so instead.
    assert_eq!(
        figure(field(&m, "Messages")),
        (
            t.messages_total(&mine) as i64,
            f.before(7, t.messages_total(&before) as i64)
        )
    );
    if !f.compared(7) {
        for name in [
            "Messages",
            "Voice time",
            "Reactions given",
            "Activity score",
        ] {
            let value = field(&m, name);
            assert!(value.ends_with(&f.not_compared()), "{name}: {value}");
            assert!(!value.contains(" new") && !value.contains('%'), "{value}");
        }
    }
    assert_eq!(field(&m, "Rank"), "#1");
    let voice = t
        .voice_ms_per_member(&s)
        .get(&user_id)
        .copied()
        .unwrap_or(0)
        / 1000;
    assert_eq!(figure_with(field(&m, "Voice time"), seconds).0, voice);
    let given = t.reactions_given(&s).get(&user_id).copied().unwrap_or(0) as i64;
    let received = t.reactions_received(&s).get(&user_id).copied().unwrap_or(0) as i64;
    assert_eq!(figure(field(&m, "Reactions given")).0, given);
    assert_eq!(figure(field(&m, "Reactions received")).0, received);
    let score = serverpulse_web::report::activity_score(
        t.messages_total(&mine) as i64,
        given,
        received,
        voice,
    );
    assert!(field(&m, "Activity score").starts_with(&format!("**{score:.1}**")));
    let mut favourites: Vec<(u64, u64)> =
        t.messages_per_parent_channel(&mine).into_iter().collect();
    favourites.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let expected: Vec<String> = favourites
        .iter()
        .take(3)
        .map(|(c, n)| format!("<#{c}> ({})", int(*n as i64)))
        .collect();
    assert_eq!(field(&m, "Favourite channels"), expected.join("\n"));

    // One channel, messages (threads included) and voice.
    let per_parent = t.messages_per_parent_channel(&s);
    let (busiest, _) = per_parent
        .iter()
        .max_by_key(|(c, n)| (**n, std::cmp::Reverse(**c)))
        .unwrap();
    let name = f.channel_name(*busiest);
    let m = f
        .show(&analyze(
            "channel",
            vec![
                channel("channel", *busiest, &name, 0),
                string("timeframe", "7d"),
            ],
        ))
        .await;
    let in_channel = s.clone().channel(*busiest);
    assert_eq!(
        figure(field(&m, "Messages (threads included)")),
        (
            t.messages_total(&in_channel) as i64,
            f.before(7, t.messages_total(&p.clone().channel(*busiest)) as i64)
        )
    );
    let top_here: Vec<(u64, i64)> = t
        .top_messagers(&in_channel, 5)
        .iter()
        .map(|r| (r.user_id, r.value as i64))
        .collect();
    assert_eq!(ranking_numbers(field(&m, "Top members")), top_here);
    // Without the option, the channel the command is used in.
    let here = discord_sim::Invoker::admin(f.guild, *busiest);
    let m = final_message(
        &f.app,
        &analyze("channel", vec![string("timeframe", "7d")]),
        &here,
    )
    .await;
    assert_eq!(
        figure(field(&m, "Messages (threads included)")).0,
        t.messages_total(&in_channel) as i64
    );
    let voice_per_channel = t.voice_ms_per_channel(&s);
    let (voice_channel, ms) = voice_per_channel.iter().max_by_key(|(_, ms)| **ms).unwrap();
    let voice_name = f.channel_name(*voice_channel);
    let m = f
        .show(&analyze(
            "channel",
            vec![
                channel("channel", *voice_channel, &voice_name, 2),
                string("metric", "voice"),
                string("timeframe", "7d"),
            ],
        ))
        .await;
    assert_eq!(figure_with(field(&m, "Voice time"), seconds).0 * 1000, *ms);

    // This period against the previous one; one channel against another.
    let m = f
        .show(&analyze(
            "comparative",
            vec![string("metric", "messages"), string("timeframe", "7d")],
        ))
        .await;
    assert_eq!(
        figure(field(&m, "Total, this period")).0,
        t.messages_total(&s) as i64
    );
    if f.compared(7) {
        assert_eq!(
            figure(field(&m, "Total, previous period")).0,
            t.messages_total(&p) as i64
        );
    } else {
        assert_eq!(field(&m, "Total, previous period"), f.not_compared());
        assert_eq!(field(&m, "Change"), "not compared");
    }
    let mut channels: Vec<(&u64, &u64)> = per_parent.iter().collect();
    channels.sort_by(|a, b| b.1.cmp(a.1));
    let (a, b) = (*channels[0].0, *channels[1].0);
    let (an, bn) = (f.channel_name(a), f.channel_name(b));
    let m = f
        .show(&analyze(
            "comparative",
            vec![
                string("metric", "messages"),
                string("timeframe", "7d"),
                channel("channel", a, &an, 0),
                channel("other", b, &bn, 0),
            ],
        ))
        .await;
    // Field names render no mentions: the escaped name names the field,
    // the mention and the figure are its value.
    for (id, name) in [(a, &an), (b, &bn)] {
        let value = field(&m, &format!("#{}", escape_markdown(name)));
        let (mention, figure_text) = value.split_once('\n').unwrap();
        assert_eq!(mentioned_channel(mention), id);
        assert_eq!(figure(figure_text).0, per_parent[&id] as i64);
    }

    for metric in ["voice", "reactions", "members"] {
        let m = f
            .show(&analyze(
                "comparative",
                vec![string("metric", metric), string("timeframe", "24h")],
            ))
            .await;
        let (now, before) = (f.scope(1), f.previous(1));
        let (a, b) = match metric {
            "voice" => (voice_total(t, &now), voice_total(t, &before)),
            "reactions" => (reactions(t, &now), reactions(t, &before)),
            _ => (
                t.member_count_at(f.guild, now.to_ms, f.count_bots) as i64,
                t.member_count_at(f.guild, before.to_ms, f.count_bots) as i64,
            ),
        };
        let parse = if metric == "voice" {
            seconds
        } else {
            parse_int
        };
        let label = if metric == "members" {
            "Members at the end"
        } else {
            "Total"
        };
        assert_eq!(
            figure_with(field(&m, &format!("{label}, this period")), parse).0,
            a,
            "{metric}"
        );
        assert_eq!(
            figure_with(field(&m, &format!("{label}, previous period")), parse).0,
            b,
            "{metric}"
        );
    }

    // Rankings: top messagers over several timeframes, leaderboards per metric.
    for (key, days) in [("24h", 1), ("7d", 7), ("30d", 30), ("all", 10)] {
        let m = f
            .show(&command("topmessagers", vec![string("timeframe", key)]))
            .await;
        let expected: Vec<(u64, i64)> = t
            .top_messagers(&f.scope(days), 10)
            .iter()
            .map(|r| (r.user_id, r.value as i64))
            .collect();
        assert_eq!(ranking_numbers(description(&m)), expected, "{key}");
        if !f.count_bots {
            assert!(expected.iter().all(|(u, _)| !t.user_is_bot(f.guild, *u)));
        }
    }
    for (metric, truth_metric) in [
        ("messages", LeaderboardMetric::Messages),
        ("voice", LeaderboardMetric::VoiceSeconds),
        ("reactions", LeaderboardMetric::ReactionsGiven),
    ] {
        let m = f
            .show(&command(
                "leaderboard",
                vec![string("metric", metric), string("timeframe", "7d")],
            ))
            .await;
        let board = t.leaderboard(&s, truth_metric);
        let shown: Vec<(u64, String)> = ranking(description(&m));
        let expected: Vec<(u64, String)> = board
            .iter()
            .take(10)
            .map(|r| {
                let v = r.value as i64;
                (
                    r.user_id,
                    if metric == "voice" {
                        duration(v)
                    } else {
                        int(v)
                    },
                )
            })
            .collect();
        assert_eq!(shown, expected, "{metric}");
        let pages = board.len().div_ceil(10).max(1);
        assert_eq!(field(&m, "Page"), format!("1 of {pages}"));
    }
    // One channel's leaderboard (its threads included).
    let m = f
        .show(&command(
            "leaderboard",
            vec![
                channel("channel", a, &an, 0),
                string("metric", "messages"),
                string("timeframe", "7d"),
            ],
        ))
        .await;
    let expected: Vec<(u64, i64)> = t
        .leaderboard(&s.clone().channel(a), LeaderboardMetric::Messages)
        .iter()
        .take(10)
        .map(|r| (r.user_id, r.value as i64))
        .collect();
    assert_eq!(ranking_numbers(description(&m)), expected);
}

/// Channel privacy: a member without permissions sees no channel @everyone
/// cannot view (`#mod-only`) named, listed or analysed, nor its top
/// posters; an admin (Manage Server) sees all of it. Totals naming no
/// channel still count its activity.
pub async fn channel_privacy(f: &Fixture) {
    let t = &f.truth;
    let all = f.all();
    let room = t
        .private_channels(f.guild)
        .into_iter()
        .find(|c| c.kind == 0)
        .expect("a private text channel");
    let (room_id, room_name) = (room.channel_id, room.name.clone());
    let in_room = all.clone().channel(room_id);
    let posters = t.top_messagers(&in_room, 5);
    assert!(!posters.is_empty(), "the private channel has activity");
    let general = t
        .channels_of(f.guild)
        .into_iter()
        .find(|c| c.name == "general")
        .unwrap();
    let member = discord_sim::Invoker::member(f.guild, general.channel_id);
    let mention = format!("<#{room_id}>");
    // Nothing of the room in anything the member is shown (its name as
    // is, or escaped as the JSON carries it).
    let escaped = serde_json::to_string(&escape_markdown(&room_name)).unwrap();
    let escaped = escaped.trim_matches('"').to_owned();
    let reveals_room = |m: &FinalMessage| {
        let text = m.message.to_string();
        text.contains(&mention) || text.contains(&room_name) || text.contains(&escaped)
    };
    let analyze =
        |name: &str, options| command("activity", vec![group("analyze", vec![sub(name, options)])]);

    // Channel reports: left out for the member, listed for the admin; the
    // total counts it for both.
    let report = stats("channels", "all", vec![string("type", "text")]);
    let seen = final_message(&f.app, &report, &member).await;
    assert!(
        !seen.ephemeral() && !reveals_room(&seen),
        "{}",
        seen.message
    );
    assert!(field(&seen, "Private channels").contains("Manage Server"));
    let full = f.show(&report).await;
    let listed = channel_lines(description(&full));
    assert!(
        listed.contains(&(room_id, t.messages_total(&in_room) as i64)),
        "{listed:?}"
    );
    assert_eq!(
        field(&seen, "Messages in these channels"),
        field(&full, "Messages in these channels")
    );

    // Favourite channels of the room's busiest poster.
    let moderator = posters[0].user_id;
    let favourites = analyze(
        "member",
        vec![user("user", moderator), string("timeframe", "all")],
    );
    let seen = final_message(&f.app, &favourites, &member).await;
    assert!(
        !seen.ephemeral() && !reveals_room(&seen),
        "{}",
        seen.message
    );
    let full = f.show(&favourites).await;
    assert!(field(&full, "Favourite channels").contains(&mention));

    // Analysis of the room itself, and a leaderboard or a comparison scoped
    // to it: refused, naming nothing and no poster.
    let scoped = [
        analyze(
            "channel",
            vec![
                channel("channel", room_id, &room_name, 0),
                string("timeframe", "all"),
            ],
        ),
        command(
            "leaderboard",
            vec![
                channel("channel", room_id, &room_name, 0),
                string("timeframe", "all"),
            ],
        ),
        analyze(
            "comparative",
            vec![
                string("metric", "messages"),
                string("timeframe", "all"),
                channel("channel", general.channel_id, "general", 0),
                channel("other", room_id, &room_name, 0),
            ],
        ),
    ];
    for kind in &scoped {
        let seen = final_message(&f.app, kind, &member).await;
        assert!(seen.ephemeral(), "{}", seen.message);
        let text = seen.message.to_string();
        assert!(text.contains("private"), "{text}");
        assert!(!reveals_room(&seen), "{text}");
        for p in &posters {
            assert!(!text.contains(&p.user_id.to_string()), "{text}");
        }
        f.show(kind).await;
    }
    let full = f.show(&scoped[0]).await;
    assert_eq!(
        ranking_numbers(field(&full, "Top members"))[0],
        (posters[0].user_id, posters[0].value as i64)
    );
    let title = embed(&full)["title"].as_str().unwrap();
    assert!(title.contains(&escape_markdown(&room_name)), "{title}");

    // The server-wide leaderboard names no channel; the member sees it.
    let board = command("leaderboard", vec![string("timeframe", "all")]);
    let seen = final_message(&f.app, &board, &member).await;
    assert!(!seen.ephemeral() && !reveals_room(&seen));
}
