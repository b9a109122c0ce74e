//! The web dashboard over HTTP: a link from `/dashboard open` opens once
//! and becomes a session cookie; forged, altered, expired, other-guild and
//! revoked links and sessions get the "run /dashboard open again" page;
//! pages agree with the commands and with the scenario's ground truth;
//! every page is under 300 KB, sends its security headers, and downloads
//! its tables as CSV; a session past its rate limit gets 429.

mod common;

use chrono::Duration as Span;
use chrono_tz::Europe::Berlin;
use common::dashboard::*;
use common::*;
use discord_sim::Invoker;
use reqwest::StatusCode;
use serverpulse_web::dashboard::{CSP, RUN_AGAIN};
use shared::Snowflake;
use sim_scenario::truth::Scope;

const PAGES: [&str; 7] = [
    "",
    "/members",
    "/channels",
    "/voice",
    "/leaderboards",
    "/activity",
    "/history",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_sessions_pages_and_figures() {
    let (_, truth) = dst_scenario(10);
    let guild = truth.guild_ids[0];
    let now = at(truth.end_ms);
    let app = start_app(now).await;
    seed(&app, &truth, guild, "Europe/Berlin").await;
    let http = client();
    let admin = admin(guild);

    // Members without Manage Server get no link.
    let refused = final_message(
        &app,
        &command("dashboard", vec![sub("open", vec![])]),
        &Invoker::member(guild, guild + 1),
    )
    .await;
    assert!(content(&refused).contains("Manage Server"), "{refused:?}");
    assert!(!content(&refused).contains("http"));

    // A fresh link opens once, with a cookie kept from scripts, plain
    // HTTP, other sites and other guilds.
    let link = link_for(&app, &admin).await;
    assert!(
        link.starts_with(&format!("{}/g/{guild}?t=", app.base)),
        "{link}"
    );
    let response = http.get(&link).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        format!("/g/{guild}").as_str()
    );
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    for part in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        &format!("Path=/g/{guild}"),
    ] {
        assert!(set_cookie.contains(part), "{set_cookie}");
    }
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let again = http.get(&link).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::FORBIDDEN, "a link opens once");
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains(&html_escaped(RUN_AGAIN))
    );

    // The overview: headers, and figures equal to the command's and to
    // ground truth (last 7 days and the 7 before).
    let response = http
        .get(format!("{}/g/{guild}", app.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-security-policy"], CSP);
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    let overview = response.text().await.unwrap();
    assert!(!overview.contains("<script>") && !overview.contains("style="));
    // The day in progress is drawn apart and labelled, not as a whole day.
    assert!(overview.contains(">so far</text>"), "{overview}");
    let scope = Scope::new(guild, truth.end_ms - 7 * DAY_MS, truth.end_ms);
    let command_answer = final_message(
        &app,
        &command(
            "serverstats",
            vec![sub("overview", vec![string("timeframe", "7d")])],
        ),
        &admin,
    )
    .await;
    let (command_messages, _) = figure(field(&command_answer, "Messages"));
    let page_messages = parse_int(&figure_value(&overview, "messages"));
    assert_eq!(page_messages, command_messages);
    assert_eq!(page_messages, truth.messages_total(&scope) as i64);
    let (command_active, _) = figure(field(&command_answer, "Active members"));
    assert_eq!(
        parse_int(&figure_value(&overview, "active")),
        command_active
    );
    assert_eq!(
        figure_value(&overview, "voice"),
        serverpulse_web::reply::duration(truth.voice_seconds(&scope).values().sum())
    );

    // The daily series of 30 days, downloaded: each local day's messages.
    let (status, csv) = get(
        &http,
        &app,
        &format!("/g/{guild}/csv/overview?table=daily&period=30d"),
        &cookie,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    let rows = csv_rows(&csv);
    assert_eq!(
        rows[0],
        [
            "day",
            "messages",
            "voice_seconds",
            "joins",
            "leaves",
            "note"
        ]
    );
    // Days are marked as the commands mark them: days before the data say
    // so, the day in progress is "so far".
    assert_eq!(rows[rows.len() - 1][5], "so far", "{:?}", rows.last());
    for row in &rows[1..rows.len() - 1] {
        let expected = if row[1] == "–" {
            "nothing recorded yet"
        } else {
            ""
        };
        assert_eq!(row[5], expected, "{row:?}");
    }
    // Over 7 days, all recorded: the period starts at a UTC hour, mid-day
    // in Berlin, so its first day is partial.
    let (_, week) = get(
        &http,
        &app,
        &format!("/g/{guild}/csv/overview?table=daily&period=7d"),
        &cookie,
    )
    .await;
    let week = csv_rows(&week);
    assert_eq!(week[1][5], "partial day", "{:?}", week[1]);
    assert_eq!(week[week.len() - 1][5], "so far", "{:?}", week.last());
    assert!(
        week[2..week.len() - 1].iter().all(|r| r[5].is_empty()),
        "{week:?}"
    );
    let per_day = truth.messages_per_local_day(
        &Scope::new(guild, truth.end_ms - 30 * DAY_MS, truth.end_ms),
        Berlin,
    );
    let mut compared = 0;
    for row in &rows[1..] {
        let day: chrono::NaiveDate = row[0].parse().unwrap();
        if let (Some(expected), Ok(value)) = (per_day.get(&day), row[1].parse::<u64>()) {
            assert_eq!(value, *expected, "{day}");
            compared += 1;
        }
    }
    assert!(compared >= 9, "days compared: {compared}");

    // Retention cohorts of 7 days: nobody joined 30+ days before now, so
    // the 30-day share says what it needs, as the command does.
    let (status, members) = get(
        &http,
        &app,
        &format!("/g/{guild}/members?period=7d"),
        &cookie,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        members.contains(&html_escaped("– needs members who joined 30+ days ago")),
        "{members}"
    );

    // Channels over 30 days: messages and unique authors per channel, as
    // the scenario wrote them; sorted on the server.
    let (status, csv) = get(
        &http,
        &app,
        &format!(
            "/g/{guild}/csv/channels?table=channels&period=30d&sort=channels.messages&order=asc"
        ),
        &cookie,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    let rows = csv_rows(&csv);
    assert_eq!(
        rows[0],
        [
            "channel",
            "messages",
            "authors",
            "active_members",
            "per_active_member",
            "last_active",
            "previous",
            "trend"
        ]
    );
    let scope30 = Scope::new(guild, truth.end_ms - 30 * DAY_MS, truth.end_ms);
    let expected = truth.messages_per_parent_channel(&scope30);
    assert_eq!(
        rows.len() - 1,
        expected.values().filter(|v| **v > 0).count()
    );
    let by_name = |name: &str| {
        truth
            .channels
            .iter()
            .find(|c| format!("#{}", c.name) == name)
            .map(|c| c.channel_id)
            .unwrap_or_else(|| panic!("no channel {name}"))
    };
    let mut last = 0;
    for row in &rows[1..] {
        let id = by_name(&row[0]);
        let messages: u64 = row[1].parse().unwrap();
        assert_eq!(messages, expected[&id], "{}", row[0]);
        let authors = truth
            .messages_per_member(&scope30.clone().channel(id))
            .len();
        assert_eq!(row[2].parse::<usize>().unwrap(), authors, "{}", row[0]);
        let active = truth.participation_per_parent(&scope30)[&id].active_members;
        assert_eq!(row[3].parse::<u64>().unwrap(), active, "{}", row[0]);
        assert_eq!(
            row[4],
            format!("{:.1}", messages as f64 / active as f64),
            "{}",
            row[0]
        );
        assert!(messages >= last, "sorted ascending");
        last = messages;
    }

    // Every page, over all time, is whole and small.
    for page in PAGES {
        let (status, html) = get(
            &http,
            &app,
            &format!("/g/{guild}{page}?period=all"),
            &cookie,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{page}: {html}");
        assert!(html.ends_with("</html>"), "{page}");
        assert!(html.len() < 300 * 1024, "{page}: {} bytes", html.len());
    }
    // A custom period, and one the form refuses.
    let (status, html) = get(
        &http,
        &app,
        &format!("/g/{guild}?period=custom&from=2026-10-21&to=2026-10-23"),
        &cookie,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("2026-10-21"), "{html}");
    let (_, html) = get(
        &http,
        &app,
        &format!("/g/{guild}?period=custom&from=x&to=y"),
        &cookie,
    )
    .await;
    assert!(html.contains("is not a date"), "{html}");

    // Links that open nothing.
    let expired = serverpulse_web::dashboard::link(
        &app.state,
        Snowflake(guild),
        Snowflake(guild + 1),
        true,
        now - Span::hours(2),
    )
    .await
    .unwrap()
    .unwrap();
    let other_guild = serverpulse_web::dashboard::link(
        &app.state,
        Snowflake(guild + 100),
        Snowflake(guild + 1),
        true,
        now,
    )
    .await
    .unwrap()
    .unwrap()
    .replace(&format!("/g/{}", guild + 100), &format!("/g/{guild}"));
    let fresh = link_for(&app, &admin).await;
    let altered = {
        let (head, token) = fresh.split_once("?t=").unwrap();
        let mut bytes = token.to_owned().into_bytes();
        bytes[3] = if bytes[3] == b'A' { b'B' } else { b'A' };
        format!("{head}?t={}", String::from_utf8(bytes).unwrap())
    };
    let forged = format!("{}/g/{guild}?t=AAAA", app.base);
    for (what, bad) in [
        ("expired", &expired),
        ("other guild", &other_guild),
        ("altered", &altered),
        ("forged", &forged),
    ] {
        let response = http.get(bad).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{what}");
        assert!(response.headers().get("set-cookie").is_none(), "{what}");
        assert!(
            response.text().await.unwrap().contains("/dashboard open"),
            "{what}"
        );
    }
    // A session opens nothing of another guild, nor does no session.
    let (status, _) = get(&http, &app, &format!("/g/{}", guild + 100), &cookie).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = get(&http, &app, &format!("/g/{guild}"), "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Revoke closes the open session and the unused link.
    let revoke = final_message(
        &app,
        &command("dashboard", vec![sub("revoke", vec![])]),
        &admin,
    )
    .await;
    assert!(content(&revoke).contains("revoked"), "{revoke:?}");
    let (status, html) = get(&http, &app, &format!("/g/{guild}"), &cookie).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
    assert_eq!(
        http.get(&fresh).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    // A link made after the revoke works.
    let cookie = open_session(&http, &link_for(&app, &admin).await).await;
    let (status, _) = get(&http, &app, &format!("/g/{guild}/members"), &cookie).await;
    assert_eq!(status, StatusCode::OK);

    // The rate limit: a burst, then 429 for this session only.
    let mut limited = 0;
    for _ in 0..(serverpulse_web::dashboard::limit::BURST as usize + 5) {
        let (status, _) = get(&http, &app, &format!("/g/{guild}/assets/sort.js"), &cookie).await;
        assert_eq!(status, StatusCode::OK, "assets are not limited");
        let (status, _) = get(&http, &app, &format!("/g/{guild}/history"), &cookie).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
        }
    }
    assert!(limited > 0, "no request was limited");
    let other = open_session(&http, &link_for(&app, &admin).await).await;
    let (status, _) = get(&http, &app, &format!("/g/{guild}/history"), &other).await;
    assert_eq!(status, StatusCode::OK, "another session has its own bucket");
}

fn html_escaped(text: &str) -> String {
    serverpulse_web::dashboard::html::escape(text)
}
