//! The live loop: hand the session its next frames (replay, RESUMED,
//! dispatches as they come due, faults), and answer what the client sends.

use std::time::{Duration, Instant};

use futures_util::{FutureExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::sync::CancellationToken;

use super::frames::ClientFrame;
use super::{Bound, CLOSE_GRACE, Conn, Step};
use crate::gateway::{FaultTrigger, FrameSend, FrameSource, SessionStatus};

impl Conn {
    fn next_step(&self, bound: &mut Bound) -> Step {
        let state = &self.state;
        let mut guard = state.lock();
        let inner = &mut *guard;
        let Some(session) = inner.sessions.get_mut(&bound.session_id) else {
            return Step::Terminate;
        };
        if bound.closing_until.is_some() {
            return Step::Wait(None);
        }
        if session.live_conn != Some(self.id) || session.status != SessionStatus::Connected {
            return Step::Terminate;
        }
        let Some(timeline) = inner.shards.get_mut(&session.shard) else {
            return Step::Terminate;
        };
        if timeline.live_conn != Some(self.id) {
            return Step::Terminate;
        }
        loop {
            if let Some(frame) = session.frames.get_mut(bound.next_pos) {
                let replay = bound.next_pos < bound.replay_end;
                frame.sends.push(FrameSend {
                    connection: bound.connection,
                    replay,
                    at_ms: chrono::Utc::now().timestamp_millis(),
                });
                bound.next_pos += 1;
                return Step::Send(state.render(frame));
            }
            if bound.resumed_pending {
                bound.resumed_pending = false;
                session.push(
                    "RESUMED",
                    FrameSource::Payload(json!({"_trace": ["discord-sim"]})),
                    timeline.clock_ms,
                );
                continue;
            }
            let due = inner.faults.iter().position(|f| {
                f.shard_id == timeline.shard[0]
                    && match f.trigger {
                        FaultTrigger::Now => true,
                        FaultTrigger::AfterEvent(n) => timeline.cursor >= n,
                    }
            });
            if let Some(index) = due {
                let fault = inner.faults.remove(index);
                for _ in 0..fault.lose_in_flight {
                    if !state.take_next(timeline, session) {
                        break;
                    }
                }
                // Lost in flight: never written on this connection.
                bound.next_pos = session.frames.len();
                return Step::Fault(fault);
            }
            let Some(&next) = timeline.events.get(timeline.cursor) else {
                return Step::Wait(None);
            };
            if let Some(origin) = inner.clock_origin
                && let Some(due) = state.due_at(origin, next)
                && due > Instant::now()
            {
                return Step::Wait(Some(due));
            }
            state.take_next(timeline, session);
        }
    }

    pub(super) async fn live(
        &mut self,
        bound: &mut Bound,
        cancel: &CancellationToken,
    ) -> Result<(), WsError> {
        loop {
            // Heartbeats and closes are read between sends, so a client that
            // reads as fast as it can is still answered.
            while let Some(message) = self.ws.next().now_or_never() {
                if self.on_client(message, bound).await? {
                    return Ok(());
                }
            }
            match self.next_step(bound) {
                Step::Send(text) => {
                    if let Err(error) = self.send_text(text).await {
                        self.release(bound, SessionStatus::Disconnected);
                        return Err(error);
                    }
                }
                Step::Fault(fault) => {
                    tracing::debug!(?fault, session_id = %bound.session_id, "fault");
                    if self.run_fault(fault, bound).await? {
                        return Ok(());
                    }
                }
                Step::Terminate => {
                    self.abort().await;
                    self.release(bound, SessionStatus::Disconnected);
                    return Ok(());
                }
                Step::Wait(until) => {
                    let deadline = match (until, bound.closing_until) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    let sleep = async {
                        match deadline {
                            Some(at) => tokio::time::sleep_until(at.into()).await,
                            None => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        () = cancel.cancelled() => {
                            self.release(bound, SessionStatus::Disconnected);
                            // Shutting down: no need to wait for the client.
                            self.abort_with_grace(Duration::ZERO).await;
                            return Ok(());
                        }
                        message = self.ws.next() => {
                            if self.on_client(message, bound).await? {
                                return Ok(());
                            }
                        }
                        () = bound.notify.notified() => {}
                        () = sleep => {
                            if bound.closing_until.is_some_and(|at| at <= Instant::now()) {
                                self.release(bound, SessionStatus::Disconnected);
                                self.abort().await;
                                return Ok(());
                            }
                        }
                    }
                }
            }
        }
    }

    /// Handles one client frame on a live connection; `true` when it ended.
    async fn on_client(
        &mut self,
        message: Option<Result<Message, WsError>>,
        bound: &Bound,
    ) -> Result<bool, WsError> {
        match self.classify(message) {
            ClientFrame::Op(1, _) => {
                self.send_op(11, Value::Null).await?;
                Ok(false)
            }
            ClientFrame::Op(8, d) => {
                self.request_members(bound, &d);
                Ok(false)
            }
            ClientFrame::RateLimited => {
                self.release(bound, SessionStatus::Disconnected);
                self.close(4008, "Rate limited").await?;
                Ok(true)
            }
            ClientFrame::Op(2 | 6, _) => {
                self.release(bound, SessionStatus::Disconnected);
                self.close(4005, "Already authenticated").await?;
                Ok(true)
            }
            ClientFrame::Op(..) | ClientFrame::Ignore => Ok(false),
            ClientFrame::Undecodable => {
                self.release(bound, SessionStatus::Disconnected);
                self.close(4002, "Decode error").await?;
                Ok(true)
            }
            ClientFrame::Close(code) => {
                // Closing with 1000 or 1001 ends the session; any other code
                // keeps it resumable.
                let to = if matches!(code, Some(1000 | 1001)) {
                    SessionStatus::Closed
                } else {
                    SessionStatus::Disconnected
                };
                self.release(bound, to);
                let _ = tokio::time::timeout(CLOSE_GRACE, async {
                    while let Some(Ok(_)) = self.ws.next().await {}
                })
                .await;
                Ok(true)
            }
            ClientFrame::Gone => {
                self.release(bound, SessionStatus::Disconnected);
                Ok(true)
            }
        }
    }
}
