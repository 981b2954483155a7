//! The live status message of each deployment: one Discord message edited in
//! place as phases advance — a header with a progress bar, then the progress
//! lines so far — instead of one message per event.
//!
//! Updates are coalesced: the first edit of a burst waits a second for the
//! rest of it, and edits of one deployment are at least 2 s apart; whatever
//! the board holds when the edit goes out is what Discord shows (the latest
//! state wins). Discord stops accepting edits of messages about an hour old,
//! so a deployment that runs longer continues in a fresh message.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serenity::all::MessageId;
use tokio::time::Instant;

use super::text::{MAX_CONTENT, head_and_tail, progress_bar};

/// Minimum time between two edits of one deployment's message.
pub const EDIT_EVERY: Duration = Duration::from_secs(2);
/// How long the first edit of a burst waits for the rest of it.
const GATHER: Duration = Duration::from_secs(1);
/// Past this age a status message is continued in a new one.
const MESSAGE_LIFETIME: Duration = Duration::from_secs(55 * 60);

#[derive(Debug)]
struct Board {
    title: String,
    lines: Vec<String>,
    percent: Option<u8>,
    message: Option<(MessageId, Instant)>,
    /// Messages this board has used so far (a second one after an hour).
    parts: u32,
    dirty_since: Option<Instant>,
    last_edit: Option<Instant>,
}

/// What one flush sends.
#[derive(Debug)]
pub struct Snapshot {
    pub content: String,
    /// The message to edit; `None`: post a new one.
    pub message: Option<MessageId>,
}

#[derive(Debug, Default)]
pub struct Boards(Mutex<HashMap<i64, Board>>);

impl Boards {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Board>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds progress to deployment `id`'s board. Returns true when a flush
    /// must be queued (none is pending yet).
    pub fn update(
        &self,
        id: i64,
        title: Option<&str>,
        env: &str,
        text: &str,
        percent: Option<u8>,
        now: Instant,
    ) -> bool {
        let mut boards = self.lock();
        let board = boards.entry(id).or_insert_with(|| Board {
            title: title.map_or_else(
                || format!("**Deployment #{id}** · {}", env.to_uppercase()),
                |t| format!("**{t}**"),
            ),
            lines: Vec::new(),
            percent: None,
            message: None,
            parts: 0,
            dirty_since: None,
            last_edit: None,
        });
        board.lines.extend(text.lines().map(str::to_string));
        if percent.is_some() {
            board.percent = percent;
        }
        let first = board.dirty_since.is_none();
        if first {
            board.dirty_since = Some(now);
        }
        first
    }

    /// Whether deployment `id` has a board.
    pub fn has(&self, id: i64) -> bool {
        self.lock().contains_key(&id)
    }

    /// When the pending changes of `id` may go out; `None` if there are none.
    pub fn due(&self, id: i64) -> Option<Instant> {
        let boards = self.lock();
        let board = boards.get(&id)?;
        let dirty = board.dirty_since?;
        let gathered = dirty + GATHER;
        Some(match board.last_edit {
            Some(last) => gathered.max(last + EDIT_EVERY),
            None => gathered,
        })
    }

    /// The content to send now, marking the board clean.
    pub fn take(&self, id: i64, now: Instant) -> Option<Snapshot> {
        let mut boards = self.lock();
        let board = boards.get_mut(&id)?;
        board.dirty_since.take()?;
        board.last_edit = Some(now);
        let expired = board
            .message
            .is_some_and(|(_, at)| now.saturating_duration_since(at) >= MESSAGE_LIFETIME);
        if expired {
            board.message = None;
        }
        let mut header = board.title.clone();
        if board.parts > 0 && board.message.is_none() {
            header.push_str(&format!(" (continued, part {})", board.parts + 1));
        }
        if let Some(p) = board.percent {
            header.push_str(&format!("\n{}", progress_bar(p)));
        }
        let room = MAX_CONTENT - header.chars().count() - 1;
        let body = head_and_tail(&board.lines, room);
        Some(Snapshot {
            content: format!("{header}\n{body}"),
            message: board.message.map(|(m, _)| m),
        })
    }

    /// Records the message a board now lives in.
    pub fn posted(&self, id: i64, message: MessageId, at: Instant) {
        if let Some(board) = self.lock().get_mut(&id) {
            board.message = Some((message, at));
            board.parts += 1;
        }
    }

    pub fn forget(&self, id: i64) {
        self.lock().remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_one_flush_and_edits_are_two_seconds_apart() {
        let boards = Boards::default();
        let t0 = Instant::now();
        assert!(boards.update(1, None, "prd", "Phase 1", None, t0));
        for i in 0..19 {
            assert!(!boards.update(1, None, "prd", &format!("line {i}"), Some(10), t0));
        }
        assert_eq!(boards.due(1), Some(t0 + GATHER));
        let first = boards.take(1, t0 + GATHER).unwrap();
        assert!(first.message.is_none());
        assert!(first.content.contains("line 18"), "{}", first.content);
        assert!(
            first.content.contains("▰▱▱▱▱▱▱▱▱▱ 10%"),
            "{}",
            first.content
        );
        boards.posted(1, MessageId::new(7), t0 + GATHER);
        assert!(boards.due(1).is_none());
        assert!(boards.update(1, None, "prd", "more", None, t0 + GATHER));
        assert_eq!(boards.due(1), Some(t0 + GATHER + EDIT_EVERY));
        assert_eq!(
            boards.take(1, t0 + GATHER + EDIT_EVERY).unwrap().message,
            Some(MessageId::new(7))
        );
    }

    #[test]
    fn after_an_hour_the_board_continues_in_a_new_message() {
        let boards = Boards::default();
        let t0 = Instant::now();
        boards.update(1, None, "prd", "start", None, t0);
        boards.take(1, t0);
        boards.posted(1, MessageId::new(7), t0);
        let later = t0 + Duration::from_secs(3600);
        boards.update(1, None, "prd", "still going", None, later);
        let s = boards.take(1, later).unwrap();
        assert!(s.message.is_none());
        assert!(s.content.contains("(continued, part 2)"), "{}", s.content);
    }
}
