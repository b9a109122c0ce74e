//! Reading client frames, and Discord's limit of 120 commands a minute.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::Conn;

/// A client frame, as far as the gateway cares.
pub(super) enum ClientFrame {
    Op(u64, Value),
    Close(Option<u16>),
    Gone,
    Ignore,
    Undecodable,
    RateLimited,
}

/// Discord closes a connection (4008) that sends more than this many
/// commands in [`COMMAND_WINDOW`].
const COMMANDS_PER_WINDOW: usize = 120;
const COMMAND_WINDOW: Duration = Duration::from_secs(60);

impl Conn {
    /// Reads a client frame, counting commands against the rate limit.
    pub(super) fn classify(&mut self, message: Option<Result<Message, WsError>>) -> ClientFrame {
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
}
