//! The endpoint's front door and every failure a user can cause or meet.

mod common;

use common::*;
use discord_sim::{InteractionKeys, InteractionKind, Invoker};
use serde_json::{Value, json};

async fn raw_post(app: &App, body: &[u8], headers: &[(&str, String)]) -> u16 {
    let mut request = reqwest::Client::new()
        .post(&app.endpoint)
        .header("Content-Type", "application/json")
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_body_size_and_json_are_checked_before_anything_else() {
    let app = start_app(at(DST_START_MS)).await;
    let ping = br#"{"type":1,"id":"1","application_id":"1","token":"t","version":1}"#;

    // A correctly signed PING, even without the fields twilight requires.
    let (status, body) = app
        .client
        .post_signed(ping, app.client.keys())
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({"type": 1})
    );

    // Missing headers.
    assert_eq!(raw_post(&app, ping, &[]).await, 401);
    let now = chrono::Utc::now().timestamp().to_string();
    assert_eq!(
        raw_post(&app, ping, &[("X-Signature-Timestamp", now.clone())]).await,
        401
    );

    // Signed by someone else.
    let (status, _) = app
        .client
        .post_signed(ping, &InteractionKeys::generate())
        .await
        .unwrap();
    assert_eq!(status, 401);

    // Right key, body changed after signing.
    let signature = app.client.keys().sign(&now, ping);
    let tampered = br#"{"type":2,"id":"1","application_id":"1","token":"t","version":1}"#;
    let headers = [
        ("X-Signature-Ed25519", signature),
        ("X-Signature-Timestamp", now),
    ];
    assert_eq!(raw_post(&app, tampered, &headers).await, 401);
    assert_eq!(raw_post(&app, ping, &headers).await, 200);

    // A replay: right signature over a timestamp ten minutes old.
    let stale = (chrono::Utc::now().timestamp() - 600).to_string();
    let headers = [
        ("X-Signature-Ed25519", app.client.keys().sign(&stale, ping)),
        ("X-Signature-Timestamp", stale),
    ];
    assert_eq!(raw_post(&app, ping, &headers).await, 401);

    // Oversized, even when signed.
    let mut huge = br#"{"type":1,"pad":""#.to_vec();
    huge.extend(std::iter::repeat_n(
        b'x',
        serverpulse_web::MAX_INTERACTION_BODY + 1,
    ));
    huge.extend(br#""}"#);
    let (status, _) = app
        .client
        .post_signed(&huge, app.client.keys())
        .await
        .unwrap();
    assert_eq!(status, 413);

    // Signed but not JSON, or JSON that is no interaction.
    let (status, _) = app
        .client
        .post_signed(b"{not json", app.client.keys())
        .await
        .unwrap();
    assert_eq!(status, 400);
    let (status, _) = app
        .client
        .post_signed(br#"{"type":2,"id":"x"}"#, app.client.keys())
        .await
        .unwrap();
    assert_eq!(status, 400);
}

async fn notice(app: &App, kind: &InteractionKind, invoker: &Invoker) -> String {
    let message = final_message(app, kind, invoker).await;
    assert!(
        message.ephemeral(),
        "a notice is ephemeral: {:?}",
        message.message
    );
    content(&message).to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_errors_end_in_short_ephemeral_notices() {
    let (_, truth) = dst_scenario(3);
    let app = start_app(at(truth.end_ms)).await;
    let guild = truth.guild_ids[0];
    let admin = admin(guild);

    // Tracking not enabled yet.
    let overview = command(
        "serverstats",
        vec![sub("overview", vec![string("timeframe", "7d")])],
    );
    let text = notice(&app, &overview, &admin).await;
    assert!(
        text.contains("Tracking is not enabled") && text.contains("/setup"),
        "{text}"
    );

    // Tracking on, but nothing recorded.
    enable_tracking(&app, guild, "UTC").await;
    let text = notice(&app, &overview, &admin).await;
    assert!(text.contains("No activity has been recorded"), "{text}");

    seed_rows_only(&app, &truth, guild).await;

    // Unknown command and an option value outside the choices.
    let text = notice(&app, &command("frobnicate", vec![]), &admin).await;
    assert!(text.contains("/frobnicate"), "{text}");
    let bad = command(
        "serverstats",
        vec![sub("overview", vec![string("timeframe", "1y")])],
    );
    let text = notice(&app, &bad, &admin).await;
    assert!(
        text.contains("`1y`") && text.contains("24h, 7d, 30d, 90d, all, custom"),
        "{text}"
    );
    let bad = command(
        "serverstats",
        vec![sub("members", vec![string("category", "everyone")])],
    );
    let text = notice(&app, &bad, &admin).await;
    assert!(text.contains("growth, activity, retention, top"), "{text}");
    let bad = command("setup", vec![string("timezone", "Mars/Olympus")]);
    let text = notice(&app, &bad, &admin).await;
    assert!(
        text.contains("Mars/Olympus") && text.contains("Europe/Berlin"),
        "{text}"
    );

    // A member without Manage Guild calling a setting: refused, nothing changed.
    let member = Invoker::member(guild, guild + 1);
    for kind in [
        command("setup", vec![]),
        command(
            "set-update-channel",
            vec![channel("channel", 42, "news", 0)],
        ),
        command(
            "add-collect-channel",
            vec![channel("channel", 42, "news", 0)],
        ),
        command(
            "remove-collect-channel",
            vec![channel("channel", 42, "news", 0)],
        ),
    ] {
        let text = notice(&app, &kind, &member).await;
        assert!(text.contains("Manage Server"), "{text}");
    }
    let audit = shared::db::settings::audit_trail(&app.db.pool, shared::Snowflake(guild), 50)
        .await
        .unwrap();
    assert!(
        audit.iter().all(|a| a.actor_id.0 != member.user_id),
        "{audit:?}"
    );

    // A channel that is not collected.
    let mut tx = app.db.pool.begin().await.unwrap();
    shared::db::settings::set_collect_mode(
        &mut tx,
        shared::Snowflake(guild),
        shared::Snowflake(1),
        shared::db::settings::CollectMode::AllowList,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let analyze = command(
        "activity",
        vec![group(
            "analyze",
            vec![sub("channel", vec![channel("channel", 77, "secret", 0)])],
        )],
    );
    let text = notice(&app, &analyze, &admin).await;
    assert!(
        // A mention: Discord names the channel only to those who can see it.
        text.contains("<#77> is not collected") && text.contains("/add-collect-channel"),
        "{text}"
    );

    // The database goes away.
    app.db.pool.close().await;
    let text = notice(&app, &overview, &admin).await;
    assert!(
        text.contains("database is unavailable") && text.contains("try again"),
        "{text}"
    );
}

/// Rollups only (no catalogue): enough for "there is data".
async fn seed_rows_only(app: &App, truth: &sim_scenario::GroundTruth, guild: u64) {
    let mut batch = shared::rollup::RollupBatch::default();
    for m in truth.messages.iter().filter(|m| m.guild_id == guild) {
        batch.add_message(shared::rollup::MessageFacts {
            guild_id: shared::Snowflake(guild),
            hour: shared::time::Hour::containing(at(m.at_ms)),
            channel_id: shared::Snowflake(m.channel_id),
            thread_parent_id: m.thread_parent_id.map(shared::Snowflake),
            author_id: shared::Snowflake(m.author_id),
            author_kind: shared::rollup::AuthorKind::Member,
            attachments: 0,
            embeds: 0,
            stickers: 0,
        });
    }
    let mut conn = app.db.pool.acquire().await.unwrap();
    shared::db::rollups::flush_batch(&mut conn, &batch)
        .await
        .unwrap();
}
