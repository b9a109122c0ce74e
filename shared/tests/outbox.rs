//! The outbox's transitions and the digest settings against a real
//! PostgreSQL (a fresh database per test).

use chrono::{Duration, TimeZone, Utc, Weekday};
use shared::Snowflake;
use shared::db::digest_settings::{
    self, DeliveryFailure, DigestFrequency, DigestSchedule, SYSTEM_ACTOR,
};
use shared::db::outbox::{self, NewOutboxItem, OutboxFile, OutboxKind, OutboxState};
use shared::db::settings;
use shared::testing::TestDatabase;

const GUILD: Snowflake = Snowflake(41);
const CHANNEL: Snowflake = Snowflake(4100);

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 26, 8, 0, 0).unwrap()
}

fn item(identity: &str) -> NewOutboxItem {
    NewOutboxItem {
        kind: OutboxKind::Digest,
        identity_key: identity.to_owned(),
        guild_id: GUILD,
        channel_id: CHANNEL,
        payload: serde_json::json!({"content": identity}),
        files: vec![OutboxFile {
            filename: "chart.png".into(),
            bytes: vec![0x89, b'P', b'N', b'G'],
        }],
        not_before: t0(),
    }
}

#[tokio::test]
async fn enqueue_is_idempotent_per_identity_and_keeps_files() {
    let db = TestDatabase::create().await;
    let first = outbox::enqueue(&db.pool, &item("a")).await.unwrap();
    let again = outbox::enqueue(&db.pool, &item("a")).await.unwrap();
    assert!(first.is_some());
    assert_eq!(again, None);
    let stored = outbox::find(&db.pool, "a").await.unwrap().unwrap();
    assert_eq!(stored.files, item("a").files);
    assert_eq!(stored.state, OutboxState::Pending);
    assert_eq!(stored.nonce, outbox::nonce_for("a"));
    assert!(stored.nonce.len() <= 25);
    assert_ne!(outbox::nonce_for("a"), outbox::nonce_for("b"));
}

#[tokio::test]
async fn claim_leases_complete_delivers_and_a_lapsed_lease_is_claimed_again() {
    let db = TestDatabase::create().await;
    outbox::enqueue(&db.pool, &item("a")).await.unwrap();
    let lease = Duration::minutes(2);
    // Not due before its time.
    let early = outbox::claim_due(&db.pool, t0() - Duration::seconds(1), lease, 10)
        .await
        .unwrap();
    assert!(early.is_empty());
    let claimed = outbox::claim_due(&db.pool, t0(), lease, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].attempts, 1);
    // Leased: a second claimer within the lease gets nothing.
    let during = outbox::claim_due(&db.pool, t0() + Duration::minutes(1), lease, 10)
        .await
        .unwrap();
    assert!(during.is_empty());
    // The sender died: after the lease the item is claimed again, same nonce.
    let after = outbox::claim_due(&db.pool, t0() + lease, lease, 10)
        .await
        .unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].attempts, 2);
    assert_eq!(after[0].nonce, claimed[0].nonce);
    let delivered = outbox::complete(
        &db.pool,
        after[0].outbox_id,
        after[0].revision,
        Snowflake(9),
        t0(),
    )
    .await
    .unwrap();
    assert!(delivered);
    let stored = outbox::find(&db.pool, "a").await.unwrap().unwrap();
    assert_eq!(stored.state, OutboxState::Delivered);
    assert_eq!(stored.discord_message_id, Some(Snowflake(9)));
    let later = outbox::claim_due(&db.pool, t0() + Duration::days(1), lease, 10)
        .await
        .unwrap();
    assert!(later.is_empty());
}

#[tokio::test]
async fn concurrent_claimers_never_share_an_item() {
    let db = TestDatabase::create().await;
    for i in 0..20 {
        outbox::enqueue(&db.pool, &item(&format!("i{i}")))
            .await
            .unwrap();
    }
    let lease = Duration::minutes(2);
    let (a, b) = tokio::join!(
        outbox::claim_due(&db.pool, t0(), lease, 15),
        outbox::claim_due(&db.pool, t0(), lease, 15)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut ids: Vec<i64> = a.iter().chain(&b).map(|i| i.outbox_id).collect();
    ids.sort_unstable();
    let claimed = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), claimed, "an item was claimed twice");
    assert_eq!(claimed, 20);
}

#[tokio::test]
async fn an_edit_requested_during_a_send_is_sent_after_it() {
    let db = TestDatabase::create().await;
    outbox::enqueue(&db.pool, &item("alert")).await.unwrap();
    let lease = Duration::minutes(2);
    let sending = outbox::claim_due(&db.pool, t0(), lease, 1).await.unwrap();
    let grown = serde_json::json!({"content": "grew"});
    assert!(
        outbox::request_edit(&db.pool, "alert", &grown, t0())
            .await
            .unwrap()
    );
    let delivered = outbox::complete(
        &db.pool,
        sending[0].outbox_id,
        sending[0].revision,
        Snowflake(77),
        t0(),
    )
    .await
    .unwrap();
    assert!(!delivered, "the newer revision is still to send");
    let edit = outbox::claim_due(&db.pool, t0(), lease, 1).await.unwrap();
    assert_eq!(edit.len(), 1);
    assert_eq!(edit[0].discord_message_id, Some(Snowflake(77)));
    assert_eq!(edit[0].payload, grown);
    assert!(
        outbox::complete(
            &db.pool,
            edit[0].outbox_id,
            edit[0].revision,
            Snowflake(77),
            t0()
        )
        .await
        .unwrap()
    );
    // A delivered alert edited again becomes pending as an edit.
    assert!(
        outbox::request_edit(&db.pool, "alert", &grown, t0())
            .await
            .unwrap()
    );
    let stored = outbox::find(&db.pool, "alert").await.unwrap().unwrap();
    assert_eq!(stored.state, OutboxState::Pending);
}

#[tokio::test]
async fn retry_later_and_a_failed_channel_fails_its_pending_items() {
    let db = TestDatabase::create().await;
    outbox::enqueue(&db.pool, &item("a")).await.unwrap();
    outbox::enqueue(&db.pool, &item("b")).await.unwrap();
    let lease = Duration::minutes(2);
    let claimed = outbox::claim_due(&db.pool, t0(), lease, 1).await.unwrap();
    let retry_at = t0() + Duration::seconds(30);
    outbox::retry_later(&db.pool, claimed[0].outbox_id, "503", retry_at)
        .await
        .unwrap();
    let stored = outbox::find(&db.pool, &claimed[0].identity_key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.next_attempt_at, retry_at);
    assert_eq!(stored.last_error.as_deref(), Some("503"));

    let mut tx = db.pool.begin().await.unwrap();
    let failed = outbox::fail_channel(&mut tx, GUILD, CHANNEL, "403 Missing Access")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(failed, 2);
    let due = outbox::claim_due(&db.pool, t0() + Duration::days(1), lease, 10)
        .await
        .unwrap();
    assert!(due.is_empty());
    assert!(
        !outbox::request_edit(&db.pool, "a", &serde_json::json!({}), t0())
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn digest_schedule_and_delivery_failure_are_stored_and_audited() {
    let db = TestDatabase::create().await;
    let mut conn = db.pool.acquire().await.unwrap();
    settings::insert_defaults(&mut conn, GUILD).await.unwrap();
    let stored = digest_settings::load(&db.pool, GUILD)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.schedule, DigestSchedule::default());
    assert_eq!(stored.schedule.frequency, None, "no digests by default");
    assert_eq!(
        stored,
        digest_settings::DigestSettings::defaults(GUILD),
        "code defaults equal column defaults"
    );

    let schedule = DigestSchedule {
        frequency: Some(DigestFrequency::Weekly),
        hour: 18,
        weekday: Weekday::Fri,
    };
    let mut tx = db.pool.begin().await.unwrap();
    digest_settings::set_schedule(&mut tx, GUILD, Snowflake(7), schedule, t0())
        .await
        .unwrap();
    settings::set_update_channel(&mut tx, GUILD, Snowflake(7), Some(CHANNEL))
        .await
        .unwrap();
    settings::set_tracking(&mut tx, GUILD, Snowflake(7), true)
        .await
        .unwrap();
    let failure = DeliveryFailure {
        channel_id: CHANNEL,
        code: 50013,
        message: "Missing Permissions".into(),
        at: t0(),
    };
    digest_settings::record_delivery_failure(&mut tx, GUILD, &failure)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let stored = digest_settings::load(&db.pool, GUILD)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.schedule, schedule);
    assert_eq!(stored.since, Some(t0()));
    assert_eq!(stored.delivery_failure, Some(failure));
    let wanting = digest_settings::guilds_with_digests(&db.pool)
        .await
        .unwrap();
    assert_eq!(wanting.len(), 1);
    let trail = settings::audit_trail(&db.pool, GUILD, 10).await.unwrap();
    assert_eq!(trail[0].action, "update_channel.delivery_failed");
    assert_eq!(trail[0].actor_id, SYSTEM_ACTOR);
    assert!(trail.iter().any(|e| e.action == "digest.set"));

    // Another channel: the old failure no longer applies.
    let mut tx = db.pool.begin().await.unwrap();
    settings::set_update_channel(&mut tx, GUILD, Snowflake(7), Some(Snowflake(4200)))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let stored = digest_settings::load(&db.pool, GUILD)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.delivery_failure, None);
}
