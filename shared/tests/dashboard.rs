//! The dashboard's store: one signing key for every replica, a link opens
//! one session once, revoke and expiry end sessions, the sweep deletes
//! what expired.

use chrono::{Duration, TimeZone, Utc};
use shared::Snowflake;
use shared::db::dashboard::{self, StoredSession};
use shared::testing::TestDatabase;

#[tokio::test]
async fn keys_links_sessions_revoke_and_sweep() {
    let db = TestDatabase::create().await;
    let pool = &db.pool;
    let now = Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap();

    // The first key stored is the key, whoever asks later.
    let first = dashboard::signing_key(pool, &[1; 32]).await.unwrap();
    assert_eq!(first, vec![1; 32]);
    assert_eq!(dashboard::signing_key(pool, &[2; 32]).await.unwrap(), first);

    let guild = Snowflake(5);
    assert_eq!(dashboard::generation(pool, guild).await.unwrap(), 0);
    let session = |generation, expires_at| StoredSession {
        guild_id: guild,
        user_id: Snowflake(9),
        generation,
        sees_private: false,
        expires_at,
    };
    let live = session(0, now + Duration::hours(12));
    assert!(
        dashboard::open_session(
            pool,
            &[3; 32],
            now + Duration::hours(1),
            &[4; 32],
            live,
            now
        )
        .await
        .unwrap()
    );
    // The same link again opens nothing, and stores no second session.
    assert!(
        !dashboard::open_session(
            pool,
            &[3; 32],
            now + Duration::hours(1),
            &[5; 32],
            live,
            now
        )
        .await
        .unwrap()
    );
    assert_eq!(
        dashboard::live_session(pool, &[5; 32], now).await.unwrap(),
        None
    );
    assert_eq!(
        dashboard::live_session(pool, &[4; 32], now).await.unwrap(),
        Some(live)
    );
    // Expired at its expiry.
    assert_eq!(
        dashboard::live_session(pool, &[4; 32], live.expires_at)
            .await
            .unwrap(),
        None
    );
    // Revoke ends it and bumps the generation.
    assert_eq!(dashboard::revoke(pool, guild, now).await.unwrap(), 1);
    assert_eq!(dashboard::generation(pool, guild).await.unwrap(), 1);
    assert_eq!(
        dashboard::live_session(pool, &[4; 32], now).await.unwrap(),
        None
    );

    // A session of the new generation lives; the sweep takes only what expired.
    let fresh = session(1, now + Duration::hours(2));
    let soon = session(1, now + Duration::minutes(30));
    for (link, id, s) in [([6; 32], [7; 32], fresh), ([8; 32], [9; 32], soon)] {
        assert!(
            dashboard::open_session(pool, &link, now + Duration::minutes(30), &id, s, now)
                .await
                .unwrap()
        );
    }
    let swept = dashboard::sweep_expired(pool, now + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(swept, 1 + 3, "one session and three used links");
    assert_eq!(
        dashboard::live_session(pool, &[7; 32], now).await.unwrap(),
        Some(fresh)
    );
    assert_eq!(
        dashboard::live_session(pool, &[9; 32], now).await.unwrap(),
        None
    );
}
