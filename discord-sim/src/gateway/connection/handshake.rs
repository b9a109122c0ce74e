//! Until the connection serves a session: IDENTIFY (with its shard, intent
//! and rate-limit checks) or RESUME.

use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt as _;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_util::sync::CancellationToken;

use super::frames::ClientFrame;
use super::{Bound, Conn};
use crate::gateway::{FrameSource, Session, SessionStatus};

impl Conn {
    /// Until IDENTIFY or an accepted RESUME; `None` when the connection ended.
    pub(super) async fn handshake(
        &mut self,
        cancel: &CancellationToken,
    ) -> Result<Option<Bound>, WsError> {
        loop {
            let message = tokio::select! {
                () = cancel.cancelled() => return Ok(None),
                message = self.ws.next() => message,
            };
            match self.classify(message) {
                ClientFrame::Op(1, _) => self.send_op(11, Value::Null).await?,
                ClientFrame::Op(2, d) => match self.identify(&d) {
                    Ok(Some(bound)) => return Ok(Some(bound)),
                    // Too soon after another IDENTIFY of the same bucket.
                    Ok(None) => self.send_op(9, json!(false)).await?,
                    Err((code, reason)) => {
                        self.close(code, reason).await?;
                        return Ok(None);
                    }
                },
                ClientFrame::Op(6, d) => match self.resume(&d) {
                    Ok(Some(bound)) => return Ok(Some(bound)),
                    Ok(None) => self.send_op(9, json!(false)).await?,
                    Err((code, reason)) => {
                        self.close(code, reason).await?;
                        return Ok(None);
                    }
                },
                ClientFrame::Op(..) => {
                    self.close(4003, "Not authenticated").await?;
                    return Ok(None);
                }
                ClientFrame::Undecodable => {
                    self.close(4002, "Decode error").await?;
                    return Ok(None);
                }
                ClientFrame::RateLimited => {
                    self.close(4008, "Rate limited").await?;
                    return Ok(None);
                }
                ClientFrame::Close(_) | ClientFrame::Gone => return Ok(None),
                ClientFrame::Ignore => {}
            }
        }
    }

    fn token_matches(&self, d: &Value) -> bool {
        let strip = |t: &str| t.strip_prefix("Bot ").unwrap_or(t).to_owned();
        d.get("token")
            .and_then(Value::as_str)
            .is_some_and(|t| strip(t) == strip(&self.state.config.token))
    }

    /// `Ok(None)`: refused by the IDENTIFY rate limit (answer op 9 `false`).
    fn identify(&mut self, d: &Value) -> Result<Option<Bound>, (u16, &'static str)> {
        if !self.token_matches(d) {
            return Err((4004, "Authentication failed"));
        }
        let shard = match d.get("shard") {
            None | Some(Value::Null) => [0, 1],
            Some(value) => {
                let pair = value.as_array().filter(|a| a.len() == 2);
                let number = |i: usize| {
                    pair.and_then(|a| a[i].as_u64())
                        .and_then(|n| u32::try_from(n).ok())
                };
                match (number(0), number(1)) {
                    (Some(id), Some(count)) if id < count => [id, count],
                    _ => return Err((4010, "Invalid shard")),
                }
            }
        };
        // Twilight always sends intents; a client that does not gets all of them.
        let intents = d.get("intents").and_then(Value::as_u64).unwrap_or(u64::MAX);
        let disallowed = intents
            & crate::gateway::intents::PRIVILEGED
            & !self.state.config.allowed_privileged_intents;
        if disallowed != 0 {
            return Err((4014, "Disallowed intent(s)"));
        }
        let state = Arc::clone(&self.state);
        let mut guard = state.lock();
        let inner = &mut *guard;
        if inner.identifies >= state.config.session_start_limit {
            inner.over_budget_identifies += 1;
            tracing::warn!(?shard, "IDENTIFY past the daily session-start budget");
            return Err((4004, "Authentication failed"));
        }
        if let Some(spacing) = state.config.identify_spacing {
            let bucket = shard[0] % state.config.max_concurrency.max(1);
            let now = Instant::now();
            if inner
                .last_identify
                .get(&bucket)
                .is_some_and(|at| now.duration_since(*at) < spacing)
            {
                inner.refused_identifies += 1;
                return Ok(None);
            }
            inner.last_identify.insert(bucket, now);
        }
        inner.identifies += 1;
        inner.clock_origin.get_or_insert_with(Instant::now);
        let session_id = format!("{:032x}", inner.session_order.len() as u128 + 1);
        let timeline = inner
            .shards
            .entry(shard)
            .or_insert_with(|| state.timeline(shard));
        timeline.live_conn = Some(self.id);
        let mut session = Session {
            id: session_id.clone(),
            shard,
            intents,
            filtered: Vec::new(),
            status: SessionStatus::Connected,
            connections: 1,
            frames: Vec::new(),
            disconnected_at: None,
            live_conn: Some(self.id),
        };
        session.push(
            "READY",
            FrameSource::Payload(state.ready_payload(&session_id, timeline)),
            timeline.clock_ms,
        );
        for guild in &timeline.guilds {
            session.push(
                "GUILD_CREATE",
                FrameSource::Payload(guild.payload()),
                timeline.clock_ms,
            );
        }
        let notify = Arc::clone(&timeline.notify);
        inner.sessions.insert(session_id.clone(), session);
        inner.session_order.push(session_id.clone());
        if let Some(record) = inner.connections.iter_mut().find(|c| c.id == self.id) {
            record.session_id = Some(session_id.clone());
        }
        tracing::debug!(%session_id, ?shard, "identified");
        Ok(Some(Bound {
            session_id,
            connection: 1,
            next_pos: 0,
            replay_end: 0,
            resumed_pending: false,
            closing_until: None,
            notify,
        }))
    }

    /// `Ok(None)`: the session cannot be resumed (answer op 9 `false`).
    fn resume(&mut self, d: &Value) -> Result<Option<Bound>, (u16, &'static str)> {
        if !self.token_matches(d) {
            return Err((4004, "Authentication failed"));
        }
        let Some(session_id) = d.get("session_id").and_then(Value::as_str) else {
            return Ok(None);
        };
        let seq = d.get("seq").and_then(Value::as_u64).unwrap_or(0);
        let window = self.state.config.resume_window;
        let mut guard = self.state.lock();
        let inner = &mut *guard;
        let Some(session) = inner.sessions.get_mut(session_id) else {
            return Ok(None);
        };
        if session.status == SessionStatus::Disconnected
            && session
                .disconnected_at
                .is_some_and(|at| at.elapsed() > window)
        {
            session.status = SessionStatus::Expired;
        }
        if !matches!(
            session.status,
            SessionStatus::Connected | SessionStatus::Disconnected
        ) {
            return Ok(None);
        }
        if seq > session.last_seq() {
            return Err((4007, "Invalid seq"));
        }
        let Some(timeline) = inner.shards.get_mut(&session.shard) else {
            return Ok(None);
        };
        timeline.live_conn = Some(self.id);
        session.status = SessionStatus::Connected;
        session.connections += 1;
        session.live_conn = Some(self.id);
        session.disconnected_at = None;
        if let Some(record) = inner.connections.iter_mut().find(|c| c.id == self.id) {
            record.session_id = Some(session_id.to_owned());
        }
        tracing::debug!(%session_id, seq, "resumed");
        Ok(Some(Bound {
            session_id: session_id.to_owned(),
            connection: session.connections,
            // Frame i carries seq i + 1: the first frame after `seq` is at index `seq`.
            next_pos: seq as usize,
            replay_end: session.frames.len(),
            resumed_pending: true,
            closing_until: None,
            notify: Arc::clone(&timeline.notify),
        }))
    }
}
