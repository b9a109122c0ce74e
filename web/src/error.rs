//! Why a request could not be answered, and what the user is told.

use shared::db::DbError;

use crate::reply::Message;

/// Why a request could not be answered with a report.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Something the user can fix; the text says how.
    #[error("{0}")]
    User(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0}")]
    Internal(String),
}

impl Failure {
    pub fn user(text: impl Into<String>) -> Self {
        Self::User(text.into())
    }

    /// The short ephemeral message the user sees.
    pub fn message(&self) -> Message {
        match self {
            Self::User(text) => Message::notice(text.clone()),
            Self::Db(error) if error.is_unavailable() => {
                tracing::warn!(%error, "database unavailable while answering");
                Message::notice(
                    "The statistics database is unavailable right now. Please try again in a minute.",
                )
            }
            Self::Db(error) => {
                tracing::error!(%error, "query failed while answering");
                Message::notice(
                    "Something went wrong on our side while reading statistics. Please try again.",
                )
            }
            Self::Internal(error) => {
                tracing::error!(%error, "internal error while answering");
                Message::notice("Something went wrong on our side. Please try again.")
            }
        }
    }
}

impl From<sqlx::Error> for Failure {
    fn from(error: sqlx::Error) -> Self {
        Self::Db(DbError::from(error))
    }
}

pub type Outcome<T> = Result<T, Failure>;
