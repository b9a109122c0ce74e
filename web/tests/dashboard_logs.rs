//! No dashboard token or session id reaches a log line: everything logged
//! at every level while a link is made, opened (refused once, then
//! accepted) and its session used holds neither, while the requests'
//! paths are logged. One test in its own binary, so the process-wide log
//! capture sees only it.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::dashboard::*;
use common::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_or_session_is_ever_logged() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let (_, truth) = dst_scenario(3);
    let guild = truth.guild_ids[0];
    let app = start_app(at(truth.end_ms)).await;
    seed(&app, &truth, guild, "UTC").await;
    let http = client();
    let link = link_for(&app, &admin(guild)).await;
    let token = link.split_once("?t=").unwrap().1.to_owned();
    // An altered link is refused (and that is logged), then the real one opens.
    let altered = format!("{link}x");
    assert_eq!(http.get(&altered).send().await.unwrap().status(), 403);
    let cookie = open_session(&http, &link).await;
    let session = cookie.split_once('=').unwrap().1.to_owned();
    let (status, _) = get(
        &http,
        &app,
        &format!("/g/{guild}/channels?period=7d"),
        &cookie,
    )
    .await;
    assert_eq!(status, 200);

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains(&format!("/g/{guild}/channels")),
        "the requests' paths are logged: the capture works"
    );
    assert!(
        logs.contains("dashboard link refused"),
        "the refusal is logged"
    );
    assert!(!logs.contains(&token), "a link's token was logged");
    assert!(
        !logs.contains(&token[..20]),
        "part of a link's token was logged"
    );
    assert!(!logs.contains(&session), "a session id was logged");
    assert!(!logs.contains("?t="), "a link's query string was logged");
}
