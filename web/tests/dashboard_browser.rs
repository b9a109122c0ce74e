//! The dashboard in a real browser: headless Chromium (Debian's `chromium`
//! and `chromium-driver`) driven over WebDriver. A fresh link lands on the
//! overview without its token; the period picker changes the figures; the
//! channel table sorts; a CSV downloads to a file that matches the table;
//! figures equal ground truth; forged, expired, other-guild and revoked
//! links show the "run /dashboard open again" page.
//!
//! Skipped, with a message saying why, only where chromium or chromedriver
//! is not installed. `SERVERPULSE_SCREENSHOT_DIR=/dir` also saves a
//! screenshot of each main page there (how docs/dashboard-*.png are made).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::Duration as Span;
use common::dashboard::link_for;
use common::*;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use shared::Snowflake;
use sim_scenario::truth::Scope;

/// chromedriver, stopped when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

async fn browser(downloads: &Path) -> Option<(Driver, Client)> {
    if !installed("chromium") || !installed("chromedriver") {
        eprintln!(
            "SKIPPED: the dashboard browser test needs Debian's chromium and chromium-driver \
             (apt-get install -y chromium chromium-driver)"
        );
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver = Driver(
        Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,1100"],
            "prefs": {
                "download.default_directory": downloads.to_str().unwrap(),
                "download.prompt_for_download": false,
            },
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    for _ in 0..100 {
        if let Ok(client) = ClientBuilder::new(connector.clone())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            return Some((driver, client));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start");
}

async fn text_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

/// The numbers of one column of the table `id` as shown (in row order).
async fn column(client: &Client, id: &str, index: usize) -> Vec<f64> {
    let cells = client
        .find_all(Locator::Css(&format!(
            "#{id} tbody tr td:nth-child({index})"
        )))
        .await
        .unwrap();
    let mut out = Vec::new();
    for cell in cells {
        out.push(
            cell.attr("data-value")
                .await
                .unwrap()
                .unwrap()
                .parse()
                .unwrap(),
        );
    }
    out
}

/// Waits (up to 10 s) for the page to have navigated to an address whose
/// path and query contain `part`.
async fn wait_for_url(client: &Client, part: &str) {
    for _ in 0..100 {
        let url = client.current_url().await.unwrap();
        if format!("{}?{}", url.path(), url.query().unwrap_or_default()).contains(part) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the browser did not reach {part}");
}

async fn screenshot(client: &Client, name: &str) {
    if let Ok(dir) = std::env::var("SERVERPULSE_SCREENSHOT_DIR") {
        let png = client.screenshot().await.expect("screenshot");
        std::fs::write(
            PathBuf::from(dir).join(format!("dashboard-{name}.png")),
            png,
        )
        .unwrap();
    }
}

async fn wait_for_file(dir: &Path) -> PathBuf {
    for _ in 0..100 {
        if let Some(file) = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "csv"))
        {
            return file;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no CSV was downloaded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_in_headless_chromium() {
    let downloads = std::env::temp_dir().join(format!("sp-dashboard-{}", std::process::id()));
    std::fs::create_dir_all(&downloads).unwrap();
    let Some((_driver, client)) = browser(&downloads).await else {
        return;
    };
    let (_, truth) = dst_scenario(10);
    let guild = truth.guild_ids[0];
    let now = at(truth.end_ms);
    let app = start_app(now).await;
    seed(&app, &truth, guild, "Europe/Berlin").await;
    let admin = admin(guild);
    let scope = |days: i64| Scope::new(guild, truth.end_ms - days * DAY_MS, truth.end_ms);

    // A fresh link lands on the overview, and the token leaves the address.
    let link = link_for(&app, &admin).await;
    client.goto(&link).await.unwrap();
    let url = client.current_url().await.unwrap();
    assert_eq!(url.path(), format!("/g/{guild}"));
    assert_eq!(url.query(), None, "the token is gone from the address");
    assert_eq!(text_of(&client, "h1").await, "Overview");
    assert_eq!(
        parse_int(&text_of(&client, "#fig-messages .value").await),
        truth.messages_total(&scope(7)) as i64
    );
    screenshot(&client, "overview").await;

    // The period picker (a plain GET form).
    client
        .find(Locator::Css("#period"))
        .await
        .unwrap()
        .select_by_value("30d")
        .await
        .unwrap();
    client
        .find(Locator::Css("#show"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_url(&client, "period=30d").await;
    assert_eq!(
        parse_int(&text_of(&client, "#fig-messages .value").await),
        truth.messages_total(&scope(30)) as i64
    );

    // The channel table sorts by a click on its heading, both ways.
    let nav = client
        .find(Locator::Css("nav a[href*='/channels']"))
        .await
        .unwrap();
    nav.click().await.unwrap();
    wait_for_url(&client, "/channels").await;
    assert_eq!(text_of(&client, "h1").await, "Channels");
    screenshot(&client, "channels").await;
    let heading = "#channels th[data-key='authors'] a";
    client
        .find(Locator::Css(heading))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let authors = column(&client, "channels", 3).await;
    assert!(authors.len() > 2, "{authors:?}");
    assert!(
        authors.windows(2).all(|w| w[0] >= w[1]),
        "descending: {authors:?}"
    );
    client
        .find(Locator::Css(heading))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let authors = column(&client, "channels", 3).await;
    assert!(
        authors.windows(2).all(|w| w[0] <= w[1]),
        "ascending: {authors:?}"
    );

    // The CSV downloads to a file holding the table's figures.
    let shown: Vec<f64> = column(&client, "channels", 2).await;
    client
        .find(Locator::Css("a[href*='table=channels']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let file = wait_for_file(&downloads).await;
    let csv = std::fs::read_to_string(&file).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "channel,messages,authors,active_members,per_active_member,last_active,previous,trend"
        )
    );
    let mut downloaded: Vec<f64> = lines
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    let mut shown_sorted = shown.clone();
    shown_sorted.sort_by(f64::total_cmp);
    downloaded.sort_by(f64::total_cmp);
    assert_eq!(downloaded, shown_sorted);
    let expected_total: u64 = truth.messages_per_parent_channel(&scope(30)).values().sum();
    assert_eq!(downloaded.iter().sum::<f64>() as u64, expected_total);

    // The other main pages render, for the screenshots and the eye.
    for (path, name) in [
        ("members", "members"),
        ("activity", "activity"),
        ("voice", "voice"),
        ("leaderboards", "leaderboards"),
    ] {
        client
            .goto(&format!("{}/g/{guild}/{path}?period=30d", app.base))
            .await
            .unwrap();
        assert!(
            client.find(Locator::Css("main table")).await.is_ok(),
            "{path} has a table"
        );
        screenshot(&client, name).await;
    }

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
    let forged = format!("{}/g/{guild}?t=forged", app.base);
    for bad in [&expired, &other_guild, &forged] {
        client.goto(bad).await.unwrap();
        assert!(
            text_of(&client, "#message")
                .await
                .contains("/dashboard open"),
            "{bad}"
        );
    }

    // Revoke: the open session ends.
    client
        .goto(&format!("{}/g/{guild}", app.base))
        .await
        .unwrap();
    assert_eq!(text_of(&client, "h1").await, "Overview");
    final_message(
        &app,
        &command("dashboard", vec![sub("revoke", vec![])]),
        &admin,
    )
    .await;
    client.refresh().await.unwrap();
    assert!(
        text_of(&client, "#message")
            .await
            .contains("/dashboard open")
    );

    client.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&downloads);
}
