//! Start-up refuses a database connection that drops LISTEN/NOTIFY (what a
//! transaction-pooling proxy does): the probe's notification must come
//! back. Notifications never cross databases, so a probe that listens in
//! one database and notifies from another stands in for such a proxy.

use std::time::Duration;

use shared::db::{DbError, check_notifications};
use shared::testing::TestDatabase;

#[tokio::test]
async fn a_notification_must_come_back_for_start_up_to_go_on() {
    let db = TestDatabase::create().await;
    check_notifications(&db.pool, &db.pool, Duration::from_secs(5))
        .await
        .expect("a direct connection delivers the probe");

    let elsewhere = TestDatabase::create().await;
    let error = check_notifications(&db.pool, &elsewhere.pool, Duration::from_secs(1))
        .await
        .expect_err("a notification that never arrives is an error");
    assert!(matches!(error, DbError::NoNotifications { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.contains("does not deliver LISTEN/NOTIFY"),
        "{message}"
    );
    assert!(message.contains("use a direct connection"), "{message}");
}
