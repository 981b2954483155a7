//! Everything the bot sends to Discord goes through here, so that chat can
//! never hold a deployment up and the bot stays inside Discord's limits.
//!
//! Each channel has a lane: a bounded queue served by its own task, in order.
//! [`Outbox::push`] never waits — when a lane is full the message is dropped
//! and logged, because a deployment must not wait on chat. Before each request
//! the lane takes a slot from its channel's window (5 per 5 s, as Discord
//! allows per channel, with a quarter second of margin for the trip) and from
//! the bot's global window (50 per second). serenity's own rate limiter is off
//! (it retries 429s forever, and it ignores a proxy), so these windows are the
//! rate limiter; a 429 that happens anyway is retried once after its
//! `Retry-After`, then given up. Every request has a timeout.
//!
//! A live status message ([`super::board`]) is not queued per update: the lane
//! gets one `Flush` that edits in whatever the board holds by then, at most
//! once per 2 s per deployment, so a burst of progress becomes one edit.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serenity::all::{
    ChannelId, CreateActionRow, CreateAllowedMentions, CreateAttachment, CreateMessage,
    EditMessage, Http, MessageId, UserId,
};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::board::Boards;
use crate::clock::Held;

/// Queued requests per channel before new ones are dropped.
const LANE_CAPACITY: usize = 256;
/// Discord's per-channel message limit, and the margin added to its period.
const CHANNEL_LIMIT: (usize, Duration) = (5, Duration::from_millis(5250));
/// Discord's global limit per bot.
const GLOBAL_LIMIT: (usize, Duration) = (50, Duration::from_millis(1050));

/// A message to post.
#[derive(Debug, Clone, Default)]
pub struct Post {
    pub content: String,
    /// The only users this message may ping.
    pub ping: Vec<UserId>,
    pub components: Vec<CreateActionRow>,
    pub file: Option<(String, Vec<u8>)>,
}

/// One request for a channel's lane.
#[derive(Debug)]
pub enum Op {
    Post(Post),
    /// Bring deployment `id`'s live status message up to date.
    Flush(i64),
    /// Drop deployment `id`'s board (after its final message).
    Forget(i64),
    Delete(MessageId),
}

/// At most `limit` requests per `period`, as a sliding window.
#[derive(Debug)]
pub struct Window {
    limit: usize,
    period: Duration,
    sent: VecDeque<Instant>,
}

impl Window {
    pub fn new((limit, period): (usize, Duration)) -> Window {
        Window {
            limit,
            period,
            sent: VecDeque::new(),
        }
    }

    /// When the next request may go; records it as sent then.
    pub fn reserve(&mut self, now: Instant) -> Instant {
        while self
            .sent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.period)
        {
            self.sent.pop_front();
        }
        let at = if self.sent.len() >= self.limit {
            let oldest = self.sent.pop_front().unwrap_or(now);
            (oldest + self.period).max(now)
        } else {
            now
        };
        self.sent.push_back(at);
        at
    }
}

/// The lanes, and what they share.
pub struct Outbox {
    http: Arc<Http>,
    timeout: Duration,
    global: Arc<Mutex<Window>>,
    lanes: Mutex<HashMap<ChannelId, mpsc::Sender<Op>>>,
    pub(super) boards: Boards,
}

impl Outbox {
    pub fn new(http: Arc<Http>, timeout: Duration) -> Arc<Outbox> {
        Arc::new(Outbox {
            http,
            timeout,
            global: Arc::new(Mutex::new(Window::new(GLOBAL_LIMIT))),
            lanes: Mutex::new(HashMap::new()),
            boards: Boards::default(),
        })
    }

    pub fn http(&self) -> &Arc<Http> {
        &self.http
    }

    /// Queues `op` on `channel`'s lane without waiting.
    pub fn push(self: &Arc<Self>, channel: ChannelId, op: Op) {
        let mut lanes = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
        let lane = lanes.entry(channel).or_insert_with(|| {
            let (tx, rx) = mpsc::channel(LANE_CAPACITY);
            tokio::spawn(Arc::clone(self).serve(channel, rx));
            tx
        });
        if let Err(e) = lane.try_send(op) {
            tracing::warn!(%channel, error = %e, "Discord lane full or closed; a message was dropped");
        }
    }

    /// Serves one channel's lane until the outbox is dropped.
    async fn serve(self: Arc<Self>, channel: ChannelId, mut rx: mpsc::Receiver<Op>) {
        let mut window = Window::new(CHANNEL_LIMIT);
        while let Some(op) = rx.recv().await {
            match op {
                Op::Post(post) => {
                    self.slot(&mut window).await;
                    self.post(channel, &post).await;
                }
                Op::Flush(id) => self.flush(channel, id, &mut window).await,
                Op::Forget(id) => self.boards.forget(id),
                Op::Delete(message) => {
                    self.slot(&mut window).await;
                    let http = self.http.clone();
                    self.call("deleting a message", || {
                        channel.delete_message(&http, message)
                    })
                    .await;
                }
            }
        }
    }

    /// Waits for a slot in the channel's window and in the global one.
    async fn slot(&self, window: &mut Window) {
        let at = window.reserve(Instant::now());
        tokio::time::sleep_until(at).await;
        let at = self
            .global
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .reserve(Instant::now());
        tokio::time::sleep_until(at).await;
    }

    /// Posts; returns the message id when Discord took it.
    async fn post(&self, channel: ChannelId, post: &Post) -> Option<MessageId> {
        let http = self.http.clone();
        let message = || {
            let mut m = CreateMessage::new()
                .content(post.content.clone())
                .allowed_mentions(only(&post.ping))
                .components(post.components.clone());
            if let Some((name, bytes)) = &post.file {
                m = m.add_file(CreateAttachment::bytes(bytes.clone(), name.clone()));
            }
            m
        };
        self.call("posting a message", || {
            channel.send_message(&http, message())
        })
        .await
        .map(|m| m.id)
    }

    /// Brings a live status message up to date: waits out the coalescing
    /// delay (more progress may land meanwhile), then edits in the latest
    /// state, or posts a new message the first time and once the current one
    /// is too old for Discord to accept edits.
    async fn flush(&self, channel: ChannelId, id: i64, window: &mut Window) {
        let Some(when) = self.boards.due(id) else {
            return;
        };
        tokio::time::sleep_until(when).await;
        let Some(snapshot) = self.boards.take(id, Instant::now()) else {
            return;
        };
        self.slot(window).await;
        let http = self.http.clone();
        let fresh = match snapshot.message {
            Some(message) => {
                let edit = || {
                    EditMessage::new()
                        .content(snapshot.content.clone())
                        .allowed_mentions(only(&[]))
                };
                let edited = self
                    .call("editing a status message", || {
                        channel.edit_message(&http, message, edit())
                    })
                    .await;
                if edited.is_some() {
                    return;
                }
                // An edit refused (too old, deleted): continue in a new message.
                self.slot(window).await;
                true
            }
            None => true,
        };
        if fresh {
            let post = Post {
                content: snapshot.content,
                ..Post::default()
            };
            if let Some(message) = self.post(channel, &post).await {
                self.boards.posted(id, message, Instant::now());
            }
        }
    }

    /// One request with the timeout, and one retry after a 429.
    async fn call<T, F, Fut>(&self, what: &str, mut request: F) -> Option<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = serenity::Result<T>> + Send,
        T: Send,
    {
        for attempt in 0..2 {
            // Held: while the request is on the network the runtime looks
            // idle, and a paused test clock would jump ahead (to this very
            // timeout) although no time passed. Real clocks are unaffected.
            match tokio::time::timeout(self.timeout, request().held()).await {
                Ok(Ok(value)) => return Some(value),
                Ok(Err(e)) => {
                    let status = match &e {
                        serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(
                            r,
                        )) => Some(r.status_code.as_u16()),
                        _ => None,
                    };
                    if status == Some(429) && attempt == 0 {
                        tracing::warn!(what, "Discord answered 429; retrying once");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                    tracing::warn!(what, error = %e, "Discord request failed");
                    crate::telemetry::errors::count(&crate::telemetry::errors::CHAT_API);
                    return None;
                }
                Err(_) => {
                    tracing::warn!(what, timeout = ?self.timeout, "Discord request timed out");
                    crate::telemetry::errors::count(&crate::telemetry::errors::CHAT_API);
                    return None;
                }
            }
        }
        None
    }
}

/// `allowed_mentions` that ping exactly `users`: never everyone, here or a role.
pub fn only(users: &[UserId]) -> CreateAllowedMentions {
    CreateAllowedMentions::new()
        .everyone(false)
        .all_roles(false)
        .all_users(false)
        .users(users.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_spaces_the_sixth_request_a_period_after_the_first() {
        let start = Instant::now();
        let mut w = Window::new((5, Duration::from_secs(5)));
        for _ in 0..5 {
            assert_eq!(w.reserve(start), start);
        }
        assert_eq!(w.reserve(start), start + Duration::from_secs(5));
        let later = start + Duration::from_secs(20);
        assert_eq!(w.reserve(later), later);
    }

    #[test]
    fn allowed_mentions_never_parse_everyone_or_roles() {
        let json = serde_json::to_value(only(&[UserId::new(42)])).unwrap();
        assert_eq!(json["parse"], serde_json::json!([]));
        assert_eq!(json["users"], serde_json::json!(["42"]));
    }
}
