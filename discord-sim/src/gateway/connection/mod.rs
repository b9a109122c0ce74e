//! One websocket connection: HELLO, IDENTIFY or RESUME, then the live loop
//! that writes the session's frames and carries out faults.
//!
//! This file holds the connection and its transport (zstd, closes, aborts)
//! and how a connection lets go of its session; [`frames`] reads client
//! frames, [`handshake`] runs IDENTIFY and RESUME, [`dispatching`] the live
//! loop, [`members`] answers member requests and [`faults`] carries out
//! faults.

mod dispatching;
mod faults;
mod frames;
mod handshake;
mod members;

use std::collections::{HashMap, VecDeque};
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
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

use super::{Compression, ConnectionRecord, Fault, GatewayState, SessionStatus};

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
}
