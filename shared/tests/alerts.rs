//! Alert settings and incidents against a real PostgreSQL.

use chrono::{Duration, TimeZone, Utc};
use shared::Snowflake;
use shared::alerts::{
    AlertKind, AlertSettings, Delivery, GuildAlertSettings, Incident, IncidentDetail,
};
use shared::db::alerts::{self, AlertWindow};
use shared::db::settings;
use shared::testing::TestDatabase;

#[tokio::test]
async fn settings_default_until_saved_and_saving_is_audited() {
    let db = TestDatabase::create().await;
    let guild = Snowflake(42);
    assert_eq!(
        alerts::settings_of(&db.pool, guild).await.unwrap(),
        GuildAlertSettings::defaults()
    );
    let mut changed = AlertSettings::default_for(AlertKind::MassDelete);
    changed.threshold = 12.0;
    changed.snoozed_until = Some(Utc.with_ymd_and_hms(2026, 12, 3, 0, 0, 0).unwrap());
    let mut tx = db.pool.begin().await.unwrap();
    alerts::save_settings(
        &mut tx,
        guild,
        Snowflake(7),
        &changed,
        "alert.threshold",
        serde_json::json!({"kind": "mass_delete", "threshold": 12}),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let loaded = alerts::settings_of(&db.pool, guild).await.unwrap();
    assert_eq!(loaded.get(AlertKind::MassDelete), &changed);
    assert_eq!(
        loaded.get(AlertKind::JoinRaid),
        &AlertSettings::default_for(AlertKind::JoinRaid),
        "other kinds keep their defaults"
    );
    let audit = settings::audit_trail(&db.pool, guild, 10).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "alert.threshold");
}

#[tokio::test]
async fn incidents_are_stored_grown_ended_and_listed() {
    let db = TestDatabase::create().await;
    let guild = Snowflake(42);
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap();
    let new = Incident {
        guild_id: guild,
        incident_id: 0,
        kind: AlertKind::JoinRaid,
        started_at: at,
        detected_at: at + Duration::seconds(27),
        last_event_at: at + Duration::seconds(27),
        ended_at: None,
        count: 10,
        detail: IncidentDetail::JoinRaid {
            young_accounts: 9,
            default_avatars: 10,
            joins_before: 1,
        },
        delivery: Delivery::Posted,
    };
    let mut stored = alerts::insert_incident(&db.pool, &new).await.unwrap();
    assert!(stored.incident_id > 0);
    assert_eq!(
        Incident {
            incident_id: 0,
            ..stored.clone()
        },
        new
    );
    assert_eq!(
        alerts::open_incidents(&db.pool, &[guild]).await.unwrap(),
        vec![stored.clone()]
    );
    stored.count = 12;
    stored.last_event_at = at + Duration::seconds(33);
    stored.ended_at = Some(at + Duration::seconds(333));
    alerts::update_incident(&db.pool, &stored).await.unwrap();
    assert!(
        alerts::open_incidents(&db.pool, &[guild])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        alerts::latest_incidents(&db.pool, &[guild]).await.unwrap(),
        vec![stored.clone()]
    );
    assert_eq!(
        alerts::recent_incidents(&db.pool, guild, Some(AlertKind::JoinRaid), 5)
            .await
            .unwrap(),
        vec![stored.clone()]
    );
    assert!(
        alerts::recent_incidents(&db.pool, guild, Some(AlertKind::MassDelete), 5)
            .await
            .unwrap()
            .is_empty()
    );

    let window = AlertWindow {
        guild_id: guild,
        kind: AlertKind::JoinRaid,
        state: serde_json::json!({"joins": [1, 2]}),
    };
    alerts::save_window(&db.pool, &window).await.unwrap();
    alerts::save_window(&db.pool, &window).await.unwrap();
    assert_eq!(
        alerts::windows_of(&db.pool, &[guild]).await.unwrap(),
        vec![window]
    );
}
