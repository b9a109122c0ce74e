//! One websocket connection: HELLO, IDENTIFY or RESUME, then the live loop
//! that writes the session's frames and carries out faults.

use std::collections::{HashMap, VecDeque};
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{FutureExt as _, SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::sync::CancellationToken;

use super::{
    Compression, ConnectionRecord, Fault, FaultKind, FaultTrigger, FrameSend, FrameSource,
    GatewayState, Session, SessionStatus,
};

/// How long to wait for the client's side of a closing handshake.
const CLOSE_GRACE: Duration = Duration::from_secs(3);
/// How long after op 7 or op 9 the client has to close by itself.
const CLIENT_CLOSE_WAIT: Duration = Duration::from_secs(10);

/// What the live loop does next.
enum Step {
    Send(String),
    Fault(Fault),
    Wait(Option<Instant>),
    /// The session ended or another connection took the shard over.
    Terminate,
}

/// A client frame, as far as the gateway cares.
enum ClientFrame {
    Op(u64, Value),
    Close(Option<u16>),
    Gone,
    Ignore,
    Undecodable,
    RateLimited,
}

/// The session a connection serves, and where it is in that session's buffer.
struct Bound {
    session_id: String,
    /// The session's connection number (1 for the identify connection).
    connection: u32,
    next_pos: usize,
    /// Frames before this index are written as a RESUME replay.
    replay_end: usize,
    resumed_pending: bool,
    /// Set after op 7 or op 9: stop dispatching, wait for the client to close.
    closing_until: Option<Instant>,
    notify: Arc<Notify>,
}

struct Conn {
    id: u64,
    state: Arc<GatewayState>,
    ws: WebSocketStream<TcpStream>,
    zstd: Option<zstd::stream::write::Encoder<'static, Vec<u8>>>,
    /// When the client's recent commands arrived, for Discord's 120 per minute.
    commands: VecDeque<Instant>,
}

/// Discord closes a connection (4008) that sends more than this many
/// commands in [`COMMAND_WINDOW`].
const COMMANDS_PER_WINDOW: usize = 120;
const COMMAND_WINDOW: Duration = Duration::from_secs(60);
/// Members per GUILD_MEMBERS_CHUNK, as Discord sends them.
const MEMBERS_PER_CHUNK: usize = 1000;

pub(super) async fn serve(
    state: Arc<GatewayState>,
    stream: TcpStream,
    id: u64,
    cancel: CancellationToken,
) -> Result<(), WsError> {
    let mut query = String::new();
    // The callback's error type is tungstenite's, not ours to shrink.
    #[allow(clippy::result_large_err)]
    let ws =
        tokio_tungstenite::accept_hdr_async(stream, |request: &Request, response: Response| {
            query = request.uri().query().unwrap_or_default().to_owned();
            Ok::<_, ErrorResponse>(response)
        })
        .await?;
    let params: HashMap<&str, &str> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .collect();
    let zstd = state.config.compression == Compression::AsRequested
        && params.get("compress") == Some(&"zstd-stream");
    state.lock().connections.push(ConnectionRecord {
        id,
        query: query.clone(),
        zstd,
        session_id: None,
    });
    let encoder = if zstd {
        Some(zstd::stream::write::Encoder::new(Vec::new(), 0)?)
    } else {
        None
    };
    let mut conn = Conn {
        id,
        state,
        ws,
        zstd: encoder,
        commands: VecDeque::new(),
    };

    if params.get("v").is_some_and(|v| *v != "10") {
        return conn.close(4012, "Invalid API version").await;
    }
    if params.get("encoding").is_some_and(|e| *e != "json") {
        return conn.close(4002, "Decode error").await;
    }
    let hello = json!({"op": 10, "d": {"heartbeat_interval": conn.state.config.heartbeat_interval.as_millis() as u64}, "s": null, "t": null});
    conn.send_text(hello.to_string()).await?;
    let Some(mut bound) = conn.handshake(&cancel).await? else {
        return Ok(());
    };
    conn.live(&mut bound, &cancel).await
}

impl Conn {
    async fn send_text(&mut self, text: String) -> Result<(), WsError> {
        let message = match &mut self.zstd {
            Some(encoder) => {
                // One zstd stream per connection, flushed after every message
                // so each binary frame decompresses to exactly one payload.
                encoder.write_all(text.as_bytes())?;
                encoder.flush()?;
                Message::Binary(std::mem::take(encoder.get_mut()).into())
            }
            None => Message::Text(text.into()),
        };
        self.ws.send(message).await
    }

    async fn send_op(&mut self, op: u8, d: Value) -> Result<(), WsError> {
        self.send_text(json!({"op": op, "d": d, "s": null, "t": null}).to_string())
            .await
    }

    /// Closes with a code and waits (bounded) for the client's reply.
    async fn close(&mut self, code: u16, reason: &'static str) -> Result<(), WsError> {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        };
        self.ws.close(Some(frame)).await?;
        let _ = tokio::time::timeout(CLOSE_GRACE, async {
            while let Some(Ok(_)) = self.ws.next().await {}
        })
        .await;
        Ok(())
    }

    /// Ends the connection without a close frame: TCP FIN, then read until the
    /// client hangs up (bounded) so no unread bytes turn the close into a reset.
    async fn abort(&mut self) {
        self.abort_with_grace(CLOSE_GRACE).await;
    }

    async fn abort_with_grace(&mut self, grace: Duration) {
        let tcp = self.ws.get_mut();
        let _ = tcp.shutdown().await;
        let mut buf = [0u8; 4096];
        let _ = tokio::time::timeout(grace, async {
            while let Ok(read) = tcp.read(&mut buf).await {
                if read == 0 {
                    break;
                }
            }
        })
        .await;
    }

    /// Reads a client frame, counting commands against the rate limit.
    fn classify(&mut self, message: Option<Result<Message, WsError>>) -> ClientFrame {
        let frame = Self::decode(message);
        if let ClientFrame::Op(..) = frame {
            let now = Instant::now();
            self.commands.push_back(now);
            while self
                .commands
                .front()
                .is_some_and(|at| now.duration_since(*at) > COMMAND_WINDOW)
            {
                self.commands.pop_front();
            }
            if self.commands.len() > COMMANDS_PER_WINDOW {
                return ClientFrame::RateLimited;
            }
        }
        frame
    }

    fn decode(message: Option<Result<Message, WsError>>) -> ClientFrame {
        let text = match message {
            None | Some(Err(_)) => return ClientFrame::Gone,
            Some(Ok(Message::Close(frame))) => {
                return ClientFrame::Close(frame.map(|f| u16::from(f.code)));
            }
            Some(Ok(Message::Text(text))) => text.as_str().to_owned(),
            Some(Ok(Message::Binary(bytes))) => match String::from_utf8(bytes.to_vec()) {
                Ok(text) => text,
                Err(_) => return ClientFrame::Undecodable,
            },
            Some(Ok(_)) => return ClientFrame::Ignore,
        };
        match serde_json::from_str::<Value>(&text) {
            Ok(value) => match value.get("op").and_then(Value::as_u64) {
                Some(op) => ClientFrame::Op(op, value.get("d").cloned().unwrap_or(Value::Null)),
                None => ClientFrame::Undecodable,
            },
            Err(_) => ClientFrame::Undecodable,
        }
    }

    /// Until IDENTIFY or an accepted RESUME; `None` when the connection ended.
    async fn handshake(&mut self, cancel: &CancellationToken) -> Result<Option<Bound>, WsError> {
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
        let disallowed =
            intents & super::intents::PRIVILEGED & !self.state.config.allowed_privileged_intents;
        if disallowed != 0 {
            return Err((4014, "Disallowed intent(s)"));
        }
        let state = Arc::clone(&self.state);
        let mut guard = state.lock();
        let inner = &mut *guard;
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

    /// The connection stops serving the session. A connected session becomes
    /// `to`; one that another connection took over is left alone.
    fn release(&self, bound: &Bound, to: SessionStatus) {
        let mut guard = self.state.lock();
        let inner = &mut *guard;
        let Some(session) = inner.sessions.get_mut(&bound.session_id) else {
            return;
        };
        if session.live_conn != Some(self.id) {
            return;
        }
        session.live_conn = None;
        if let Some(timeline) = inner.shards.get_mut(&session.shard)
            && timeline.live_conn == Some(self.id)
        {
            timeline.live_conn = None;
        }
        match (session.status, to) {
            (SessionStatus::Connected, SessionStatus::Disconnected) => {
                session.status = SessionStatus::Disconnected;
                session.disconnected_at = Some(Instant::now());
            }
            (
                SessionStatus::Connected | SessionStatus::Disconnected,
                SessionStatus::Expired | SessionStatus::Closed,
            ) => {
                session.status = to;
            }
            _ => {}
        }
    }

    /// Ends the session now, whoever serves it.
    fn expire(&self, bound: &Bound) {
        let mut guard = self.state.lock();
        if let Some(session) = guard.sessions.get_mut(&bound.session_id)
            && matches!(
                session.status,
                SessionStatus::Connected | SessionStatus::Disconnected
            )
        {
            session.status = SessionStatus::Expired;
        }
        drop(guard);
        self.release(bound, SessionStatus::Expired);
    }

    async fn live(&mut self, bound: &mut Bound, cancel: &CancellationToken) -> Result<(), WsError> {
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

    /// REQUEST_GUILD_MEMBERS: queues GUILD_MEMBERS_CHUNKs from the guild's
    /// live state (filtered by `user_ids`, or by `query` prefix and `limit`).
    fn request_members(&self, bound: &Bound, d: &Value) {
        let Some(guild_id) = d.get("guild_id").and_then(super::live::id_of) else {
            return;
        };
        let mut guard = self.state.lock();
        let inner = &mut *guard;
        let Some(session) = inner.sessions.get_mut(&bound.session_id) else {
            return;
        };
        let Some(timeline) = inner.shards.get(&session.shard) else {
            return;
        };
        let clock_ms = timeline.clock_ms;
        let Some(guild) = timeline.guilds.iter().find(|g| g.id == guild_id) else {
            return;
        };
        let wanted_ids: Option<Vec<u64>> = d.get("user_ids").map(|ids| match ids {
            Value::Array(ids) => ids.iter().filter_map(super::live::id_of).collect(),
            single => super::live::id_of(single).into_iter().collect(),
        });
        let query = d
            .get("query")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_lowercase();
        let limit = d
            .get("limit")
            .and_then(Value::as_u64)
            .filter(|l| *l > 0)
            .map_or(usize::MAX, |l| l as usize);
        let payload = guild.payload();
        let members: Vec<Value> = payload["members"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|m| match &wanted_ids {
                Some(ids) => m
                    .pointer("/user/id")
                    .and_then(super::live::id_of)
                    .is_some_and(|id| ids.contains(&id)),
                None => [m.pointer("/user/username"), m.get("nick")]
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .any(|name| name.to_lowercase().starts_with(&query)),
            })
            .take(if wanted_ids.is_some() {
                usize::MAX
            } else {
                limit
            })
            .cloned()
            .collect();
        let chunks: Vec<&[Value]> = if members.is_empty() {
            vec![&[]]
        } else {
            members.chunks(MEMBERS_PER_CHUNK).collect()
        };
        let count = chunks.len();
        for (index, chunk) in chunks.into_iter().enumerate() {
            let mut data = json!({
                "guild_id": guild_id.to_string(),
                "members": chunk,
                "chunk_index": index,
                "chunk_count": count,
            });
            if let Some(nonce) = d.get("nonce") {
                data["nonce"] = nonce.clone();
            }
            session.push("GUILD_MEMBERS_CHUNK", FrameSource::Payload(data), clock_ms);
        }
        bound.notify.notify_one();
    }

    /// Carries out a fault; `true` when the connection is over.
    async fn run_fault(&mut self, fault: Fault, bound: &mut Bound) -> Result<bool, WsError> {
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
