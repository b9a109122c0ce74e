//! Who may run reports (`/access`), and the access log (`/audit`): who ran
//! member analysis on whom, who exported what.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

use super::DbError;
use super::settings::record_audit;
use crate::ids::Snowflake;

/// A guild's access rules. The default (no row): everyone may run every
/// report, answers are public.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    /// Roles that may run reports at all; empty: everyone.
    pub report_roles: Vec<Snowflake>,
    /// Roles that may analyse another member; empty: everyone who may run
    /// reports.
    pub analyse_roles: Vec<Snowflake>,
    /// Report answers are shown only to the member who asked.
    pub private_answers: bool,
}

impl Access {
    /// Whether a member holding `roles` may run reports.
    pub fn may_report(&self, roles: &[Snowflake]) -> bool {
        allowed(&self.report_roles, roles)
    }

    /// Whether a member holding `roles` may analyse someone else.
    pub fn may_analyse_others(&self, roles: &[Snowflake]) -> bool {
        self.may_report(roles) && allowed(&self.analyse_roles, roles)
    }
}

fn allowed(required: &[Snowflake], held: &[Snowflake]) -> bool {
    required.is_empty() || required.iter().any(|r| held.contains(r))
}

pub async fn load<'e>(executor: impl PgExecutor<'e>, guild: Snowflake) -> Result<Access, DbError> {
    let row: Option<(Vec<i64>, Vec<i64>, bool)> = sqlx::query_as(
        "select report_role_ids, analyse_role_ids, private_answers
         from guild_access where guild_id = $1",
    )
    .bind(guild)
    .fetch_optional(executor)
    .await?;
    Ok(
        row.map_or_else(Access::default, |(report, analyse, private_answers)| {
            Access {
                report_roles: report.into_iter().map(Snowflake::from_db).collect(),
                analyse_roles: analyse.into_iter().map(Snowflake::from_db).collect(),
                private_answers,
            }
        }),
    )
}

/// Stores the guild's access rules and audits the change.
pub async fn save(
    conn: &mut PgConnection,
    guild: Snowflake,
    actor: Snowflake,
    access: &Access,
) -> Result<(), DbError> {
    let ids = |roles: &[Snowflake]| roles.iter().map(|r| r.to_db()).collect::<Vec<i64>>();
    sqlx::query(
        "insert into guild_access (guild_id, report_role_ids, analyse_role_ids, private_answers)
         values ($1, $2, $3, $4)
         on conflict (guild_id) do update set
             report_role_ids = excluded.report_role_ids,
             analyse_role_ids = excluded.analyse_role_ids,
             private_answers = excluded.private_answers,
             updated_at = now()",
    )
    .bind(guild)
    .bind(ids(&access.report_roles))
    .bind(ids(&access.analyse_roles))
    .bind(access.private_answers)
    .execute(&mut *conn)
    .await?;
    let roles = |roles: &[Snowflake]| roles.iter().map(ToString::to_string).collect::<Vec<_>>();
    record_audit(
        &mut *conn,
        guild,
        actor,
        "access",
        serde_json::json!({
            "report_roles": roles(&access.report_roles),
            "analyse_roles": roles(&access.analyse_roles),
            "private_answers": access.private_answers,
        }),
    )
    .await
}

/// What an access-log entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessAction {
    /// Member analysis of someone else (`target`).
    MemberAnalysis,
    /// A member's export of their own data.
    MemberExport,
    /// `/export-report`.
    ReportExport,
}

impl AccessAction {
    pub fn key(self) -> &'static str {
        match self {
            Self::MemberAnalysis => "member_analysis",
            Self::MemberExport => "member_export",
            Self::ReportExport => "report_export",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Some(match key {
            "member_analysis" => Self::MemberAnalysis,
            "member_export" => Self::MemberExport,
            "report_export" => Self::ReportExport,
            _ => return None,
        })
    }
}

/// One access-log entry.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessEntry {
    pub at: DateTime<Utc>,
    pub actor: Snowflake,
    pub action: AccessAction,
    pub target: Option<Snowflake>,
    pub detail: serde_json::Value,
}

pub async fn log<'e>(
    executor: impl PgExecutor<'e>,
    guild: Snowflake,
    entry: &AccessEntry,
) -> Result<(), DbError> {
    sqlx::query(
        "insert into access_log (guild_id, at, actor_id, action, target_id, detail)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(guild)
    .bind(entry.at)
    .bind(entry.actor)
    .bind(entry.action.key())
    .bind(entry.target)
    .bind(&entry.detail)
    .execute(executor)
    .await?;
    Ok(())
}

/// A page of the access log, newest first, and whether more follow.
pub async fn log_page<'e>(
    executor: impl PgExecutor<'e>,
    guild: Snowflake,
    limit: i64,
    offset: i64,
) -> Result<(Vec<AccessEntry>, bool), DbError> {
    type Row = (
        DateTime<Utc>,
        Snowflake,
        String,
        Option<Snowflake>,
        serde_json::Value,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "select at, actor_id, action, target_id, detail from access_log
         where guild_id = $1 order by entry_id desc limit $2 offset $3",
    )
    .bind(guild)
    .bind(limit + 1)
    .bind(offset)
    .fetch_all(executor)
    .await?;
    let more = rows.len() as i64 > limit;
    let entries = rows
        .into_iter()
        .take(limit.max(0) as usize)
        .map(|(at, actor, action, target, detail)| {
            Ok(AccessEntry {
                at,
                actor,
                action: AccessAction::from_key(&action)
                    .ok_or_else(|| DbError::Corrupt(format!("access_log action {action}")))?,
                target,
                detail,
            })
        })
        .collect::<Result<_, DbError>>()?;
    Ok((entries, more))
}

/// A page of the settings audit, newest first, and whether more follow.
pub async fn audit_page<'e>(
    executor: impl PgExecutor<'e>,
    guild: Snowflake,
    limit: i64,
    offset: i64,
) -> Result<(Vec<super::settings::AuditEntry>, bool), DbError> {
    let mut rows: Vec<super::settings::AuditEntry> = sqlx::query_as(
        "select actor_id, changed_at, action, detail from settings_audit
         where guild_id = $1 order by audit_id desc limit $2 offset $3",
    )
    .bind(guild)
    .bind(limit + 1)
    .bind(offset)
    .fetch_all(executor)
    .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    Ok((rows, more))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_role_lists_allow_everyone() {
        let open = Access::default();
        assert!(open.may_report(&[]) && open.may_analyse_others(&[]));
        let closed = Access {
            report_roles: vec![Snowflake(1)],
            analyse_roles: vec![Snowflake(2)],
            private_answers: true,
        };
        assert!(!closed.may_report(&[Snowflake(2)]));
        assert!(!closed.may_analyse_others(&[Snowflake(2)]));
        assert!(closed.may_report(&[Snowflake(1)]));
        assert!(!closed.may_analyse_others(&[Snowflake(1)]));
        assert!(closed.may_analyse_others(&[Snowflake(1), Snowflake(2)]));
        for action in [
            AccessAction::MemberAnalysis,
            AccessAction::MemberExport,
            AccessAction::ReportExport,
        ] {
            assert_eq!(AccessAction::from_key(action.key()), Some(action));
        }
    }
}
