//! The gateway: a websocket at `/gateway` speaking Discord's JSON protocol
//! (no compression). HELLO on connect; READY after IDENTIFY; heartbeat
//! ACKs; RESUME of a session the fake cut or asked to reconnect
//! (`disconnect_all`, `reconnect_all`), replaying what was dispatched
//! meanwhile; an invalid session for any other RESUME.
//!
//! Dispatches go to sessions: one per IDENTIFY, live while its connection
//! is, each with its own increasing `s`.

use std::sync::Arc;

use axum::extract::State as AxumState;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde_json::{Value, json};
use serenity::model::event::GatewayEvent;
use tokio::sync::mpsc;

use super::Shared;
use super::state::{Outgoing, State};

/// What HELLO asks for; serenity heartbeats at this interval.
const HEARTBEAT_INTERVAL_MS: u64 = 41_250;

/// GUILD_MESSAGES, DIRECT_MESSAGES, MESSAGE_CONTENT intents.
pub(super) const GUILD_MESSAGES: u64 = 1 << 9;
pub(super) const DIRECT_MESSAGES: u64 = 1 << 12;
pub(super) const MESSAGE_CONTENT: u64 = 1 << 15;

/// A gateway session: created by IDENTIFY, alive while its connection is
/// (or after the fake cut the connection, until resumed).
pub(super) struct Session {
    pub id: String,
    pub intents: u64,
    /// The last `s` dispatched.
    pub seq: u64,
    /// Dispatches sent, for replay on RESUME.
    pub sent: Vec<(u64, String)>,
    /// The connection the session runs on, if any.
    pub connection: Option<u64>,
    /// False once its client closed the connection itself.
    pub alive: bool,
}

pub(super) async fn upgrade(
    AxumState(shared): AxumState<Arc<Shared>>,
    ws: WebSocketUpgrade,
) -> Response {
    ws.on_upgrade(move |socket| serve(shared, socket))
}

/// One connection: forwards what the state queues for it, hands what the
/// client sends to the state.
async fn serve(shared: Arc<Shared>, mut socket: WebSocket) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let id = shared.lock().connect(tx);
    let hello = json!({
        "op": 10,
        "s": null,
        "t": null,
        "d": { "heartbeat_interval": HEARTBEAT_INTERVAL_MS },
    });
    if socket
        .send(Message::Text(hello.to_string().into()))
        .await
        .is_ok()
    {
        loop {
            tokio::select! {
                outgoing = rx.recv() => match outgoing {
                    Some(Outgoing::Text(text)) => {
                        if socket.send(Message::Text(text.into())).await.is_err() {
                            break;
                        }
                    }
                    Some(Outgoing::Close(code)) => {
                        let frame = CloseFrame { code, reason: "fake gateway restart".into() };
                        if socket.send(Message::Close(Some(frame))).await.is_ok() {
                            while let Some(Ok(_)) = socket.recv().await {}
                        }
                        break;
                    }
                    None => break,
                },
                incoming = socket.recv() => match incoming {
                    Some(Ok(Message::Text(text))) => shared.lock().gateway_op(id, text.as_str()),
                    Some(Ok(Message::Binary(_) | Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) => {
                        // Reading on lets the websocket send its close reply.
                        while let Some(Ok(_)) = socket.recv().await {}
                        break;
                    }
                    Some(Err(_)) | None => break,
                },
            }
        }
    }
    shared.lock().disconnected(id);
}

impl State {
    /// Registers a new connection; returns its id.
    fn connect(&mut self, tx: mpsc::UnboundedSender<Outgoing>) -> u64 {
        self.next_connection += 1;
        let id = self.next_connection;
        self.connections.push(super::state::Connection { id, tx });
        id
    }

    /// The connection ended: its session (if still on it) ends too.
    fn disconnected(&mut self, connection: u64) {
        self.connections.retain(|c| c.id != connection);
        for session in &mut self.sessions {
            if session.connection == Some(connection) {
                session.connection = None;
                session.alive = false;
            }
        }
    }

    /// Sends RECONNECT (op 7) on every connection and detaches its session,
    /// which stays resumable; the client closes the connection itself.
    pub fn reconnect_all(&mut self) {
        let reconnect = json!({ "op": 7, "s": null, "t": null, "d": null }).to_string();
        for connection in &self.connections {
            let _ = connection.tx.send(Outgoing::Text(reconnect.clone()));
        }
        for session in &mut self.sessions {
            session.connection = None;
        }
    }

    /// Closes every connection with 4000; their sessions stay resumable.
    pub fn disconnect_all(&mut self) {
        for connection in self.connections.drain(..) {
            let _ = connection.tx.send(Outgoing::Close(4000));
        }
        for session in &mut self.sessions {
            session.connection = None;
        }
    }

    fn send(&self, connection: u64, payload: &Value) {
        if let Some(c) = self.connections.iter().find(|c| c.id == connection) {
            let _ = c.tx.send(Outgoing::Text(payload.to_string()));
        }
    }

    /// One payload from a client.
    fn gateway_op(&mut self, connection: u64, text: &str) {
        let Ok(payload) = serde_json::from_str::<Value>(text) else {
            return;
        };
        match payload["op"].as_u64() {
            // Heartbeat.
            Some(1) => self.send(
                connection,
                &json!({ "op": 11, "s": null, "t": null, "d": null }),
            ),
            Some(2) => self.identify(connection, &payload["d"]),
            Some(6) => self.resume(connection, &payload["d"]),
            // Presence updates, member requests, voice: nothing to do.
            _ => {}
        }
    }

    fn identify(&mut self, connection: u64, d: &Value) {
        self.identifies += 1;
        let id = format!("fake-session-{}", self.identifies);
        let ready = json!({ "op": 0, "s": 1, "t": "READY", "d": self.ready_json(&id) });
        self.sessions.push(Session {
            id,
            intents: d["intents"].as_u64().unwrap_or(0),
            seq: 1,
            sent: Vec::new(),
            connection: Some(connection),
            alive: true,
        });
        self.send(connection, &ready);
    }

    fn resume(&mut self, connection: u64, d: &Value) {
        let wanted = d["session_id"].as_str().unwrap_or_default();
        let Some(at) = self
            .sessions
            .iter()
            .position(|s| s.alive && s.connection.is_none() && s.id == wanted)
        else {
            self.send(
                connection,
                &json!({ "op": 9, "s": null, "t": null, "d": false }),
            );
            return;
        };
        let since = d["seq"].as_u64().unwrap_or(0);
        let session = &mut self.sessions[at];
        session.connection = Some(connection);
        session.seq += 1;
        let resumed = json!({ "op": 0, "s": session.seq, "t": "RESUMED", "d": {} }).to_string();
        let mut replay: Vec<String> = session
            .sent
            .iter()
            .filter(|(s, _)| *s > since)
            .map(|(_, text)| text.clone())
            .collect();
        replay.push(resumed);
        if let Some(c) = self.connections.iter().find(|c| c.id == connection) {
            for text in replay {
                let _ = c.tx.send(Outgoing::Text(text));
            }
        }
    }

    /// Dispatches event `t` to every live session; `build` makes its `d`
    /// from the state and the session's intents (`None`: not for that
    /// session). The payload is first parsed as serenity would parse it.
    pub fn dispatch(
        &mut self,
        t: &str,
        build: impl Fn(&State, u64) -> Option<Value>,
    ) -> Result<(), String> {
        if let Some(d) = build(self, u64::MAX) {
            let event = json!({ "op": 0, "s": 1, "t": t, "d": d });
            serde_json::from_value::<GatewayEvent>(event)
                .map_err(|e| format!("serenity would drop this {t}: {e}; payload: {d}"))?;
        }
        let payloads: Vec<(usize, Value)> = self
            .sessions
            .iter()
            .enumerate()
            .filter(|(_, s)| s.alive)
            .filter_map(|(i, s)| build(self, s.intents).map(|d| (i, d)))
            .collect();
        for (i, d) in payloads {
            let session = &mut self.sessions[i];
            session.seq += 1;
            let text = json!({ "op": 0, "s": session.seq, "t": t, "d": d }).to_string();
            session.sent.push((session.seq, text.clone()));
            if let Some(connection) = session.connection
                && let Some(c) = self.connections.iter().find(|c| c.id == connection)
            {
                let _ = c.tx.send(Outgoing::Text(text));
            }
        }
        Ok(())
    }
}
