//! Carrying out a scheduled fault on the live connection.

use std::time::Instant;

use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Error as WsError;

use super::{Bound, CLIENT_CLOSE_WAIT, Conn};
use crate::gateway::{Fault, FaultKind, SessionStatus};

impl Conn {
    /// Carries out a fault; `true` when the connection is over.
    pub(super) async fn run_fault(
        &mut self,
        fault: Fault,
        bound: &mut Bound,
    ) -> Result<bool, WsError> {
        match fault.kind {
            FaultKind::Drop => {
                self.release(bound, SessionStatus::Disconnected);
                self.abort().await;
                Ok(true)
            }
            FaultKind::Expire => {
                self.expire(bound);
                self.abort().await;
                Ok(true)
            }
            FaultKind::Reconnect => {
                self.send_op(7, Value::Null).await?;
                bound.closing_until = Some(Instant::now() + CLIENT_CLOSE_WAIT);
                Ok(false)
            }
            FaultKind::InvalidSession => {
                self.expire(bound);
                self.send_op(9, json!(false)).await?;
                bound.closing_until = Some(Instant::now() + CLIENT_CLOSE_WAIT);
                Ok(false)
            }
            FaultKind::Close { code } => {
                if ends_session(code) {
                    self.expire(bound);
                } else {
                    self.release(bound, SessionStatus::Disconnected);
                }
                self.close(code, close_reason(code)).await?;
                Ok(true)
            }
        }
    }
}

/// Close codes after which Discord will not resume the session.
fn ends_session(code: u16) -> bool {
    matches!(code, 4004 | 4007 | 4009 | 4010..=4014)
}

fn close_reason(code: u16) -> &'static str {
    match code {
        4000 => "Unknown error",
        4007 => "Invalid seq",
        4008 => "Rate limited",
        4009 => "Session timed out",
        4004 => "Authentication failed",
        _ => "discord-sim fault",
    }
}
