//! Helpers of the dashboard tests: a link from `/dashboard open`, its
//! exchange for a session cookie, and pages and CSVs read with it.

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, StatusCode, redirect};

use super::*;

/// A client that shows redirects instead of following them.
pub fn client() -> Client {
    Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .expect("http client")
}

/// The link `/dashboard open` answers `invoker` with.
pub async fn link_for(app: &App, invoker: &Invoker) -> String {
    let open = command("dashboard", vec![sub("open", vec![])]);
    let message = final_message(app, &open, invoker).await;
    assert!(message.ephemeral(), "the link is shown only to the asker");
    let text = content(&message);
    let start = text
        .find("http")
        .unwrap_or_else(|| panic!("no link in {text:?}"));
    text[start..].split_whitespace().next().unwrap().to_owned()
}

/// Opens `link`: the session cookie (`name=value`) it is exchanged for.
pub async fn open_session(client: &Client, link: &str) -> String {
    let response = client.get(link).send().await.expect("open link");
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{link}");
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(
        !location.contains("t="),
        "the redirect drops the token: {location}"
    );
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    cookie.split(';').next().unwrap().to_owned()
}

/// GET `path` on the app with `cookie`: status and body.
pub async fn get(client: &Client, app: &App, path: &str, cookie: &str) -> (StatusCode, String) {
    let response = client
        .get(format!("{}{path}", app.base))
        .header(COOKIE, cookie)
        .send()
        .await
        .expect("GET");
    let status = response.status();
    (status, response.text().await.expect("body"))
}

/// The text of the element with `id="fig-{id}"`'s value.
pub fn figure_value(html: &str, id: &str) -> String {
    let marker = format!("id=\"fig-{id}\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no figure {id}"));
    let rest = &html[at..];
    let value = rest.split("<span class=\"value\">").nth(1).unwrap();
    value.split('<').next().unwrap().to_owned()
}

/// CSV rows (header first), split on commas (the tests' values hold none).
pub fn csv_rows(csv: &str) -> Vec<Vec<String>> {
    csv.lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}
