//! The console as a chat channel: standard input in, standard output out.
//!
//! On a terminal it is a line editor with history (rustyline); from a pipe it
//! reads plain lines, so a whole conversation can be scripted. `@name: TEXT`
//! speaks as user `name`, a plain line as the default user. Output is written
//! line by line with a speaker prefix, so deployment progress that streams in
//! between reads clearly.
//!
//! Standard input is read as bytes and decoded line by line: a line that is
//! not UTF-8 is answered with a refusal and the reading goes on, so one bad
//! byte (a mis-set terminal, a binary pasted by mistake) cannot end the session.
//!
//! A terminal cannot show a picture, so attachments (the metrics chart, the
//! history timeline, an enrolment QR code) are saved as files and the message
//! says where: one `📎` line per file under the text. Files are never
//! overwritten, so a chart from this morning is still there after the next.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Attachment, ChatError, ChatPort, Incoming, Message};
use crate::render::Renderer;

/// The console channel's name.
pub const CHANNEL: &str = "console";

/// How many taken names `save` skips before giving up on a directory (one
/// that full is more likely a mistake than a history of charts).
const MAX_NAME_ATTEMPTS: u64 = 10_000;

/// Prints messages to standard output (or any writer, for tests).
pub struct Console {
    out: Mutex<Box<dyn Write + Send>>,
    /// Where attachments are saved; created when the first one arrives.
    attachments: PathBuf,
    /// Per file name, the number the next save tries first
    /// (`metrics-<n>.png`), so a long session does not re-probe every name it
    /// already used.
    next: Mutex<HashMap<String, u64>>,
}

/// Where attachments go unless the console is told otherwise:
/// `switchyard` under the system's temp directory.
pub fn default_attachments_dir() -> PathBuf {
    std::env::temp_dir().join("switchyard")
}

impl Console {
    pub fn stdout() -> Console {
        Console::to(Box::new(std::io::stdout()))
    }

    pub fn to(out: Box<dyn Write + Send>) -> Console {
        Console {
            out: Mutex::new(out),
            attachments: default_attachments_dir(),
            next: Mutex::new(HashMap::new()),
        }
    }

    /// Saves attachments in `dir` (created if missing) instead of
    /// [`default_attachments_dir`].
    pub fn with_attachments_dir(mut self, dir: PathBuf) -> Console {
        self.attachments = dir;
        self
    }

    pub fn attachments_dir(&self) -> &Path {
        &self.attachments
    }

    /// Writes `attachment` under a name not used before in the directory:
    /// `metrics.png` becomes `metrics-<n>.png`, with the first free `n`.
    /// Files (and a directory it creates) are readable by the owner only:
    /// the directory may be a shared temp dir, and an enrolment QR code is a
    /// secret.
    fn save(&self, attachment: &Attachment) -> std::io::Result<PathBuf> {
        let mut dir = std::fs::DirBuilder::new();
        dir.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut dir, 0o700);
        dir.create(&self.attachments)?;

        let (stem, extension) = file_name_parts(&attachment.name);
        let mut options = OpenOptions::new();
        // `create_new` refuses an existing file or symlink, so nothing is
        // overwritten and nobody can redirect the write.
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = format!("{stem}{extension}");
        for _ in 0..MAX_NAME_ATTEMPTS {
            let n = {
                let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
                let n = next.entry(file.clone()).or_insert(1);
                *n += 1;
                *n - 1
            };
            let path = self.attachments.join(format!("{stem}-{n}{extension}"));
            match options.open(&path) {
                Ok(mut file) => {
                    file.write_all(&attachment.bytes)?;
                    return Ok(path);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other(format!(
            "{MAX_NAME_ATTEMPTS} names in a row are taken"
        )))
    }
}

/// `metrics.png` as (`metrics`, `.png`), keeping only letters, digits, `-`
/// and `_` (an attachment's name is the core's, but a file name should never
/// be able to climb out of the directory).
fn file_name_parts(name: &str) -> (String, String) {
    let safe = |text: &str| -> String {
        text.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .take(64)
            .collect()
    };
    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, extension)) => (safe(stem), safe(extension)),
        None => (safe(name), String::new()),
    };
    let stem = if stem.is_empty() {
        "attachment".to_string()
    } else {
        stem
    };
    let extension = if extension.is_empty() {
        String::new()
    } else {
        format!(".{extension}")
    };
    (stem, extension)
}

#[async_trait]
impl ChatPort for Console {
    async fn send(&self, message: Message) -> Result<(), ChatError> {
        let prefix = match &message.private_to {
            Some(user) => format!("switchyard (only to {user}): "),
            None => "switchyard: ".to_string(),
        };
        let indent = " ".repeat(prefix.chars().count());
        let body = message.text.replace('\n', &format!("\n{indent}"));
        // Saved before the lock is taken: other messages need not wait on the disk.
        let saved: Vec<String> = message
            .attachments
            .iter()
            .map(|a| {
                let name = file_name_parts(&a.name);
                let name = format!("{}{}", name.0, name.1);
                match self.save(a) {
                    Ok(path) if message.private_to.is_some() => format!(
                        "📎 saved {name} to {} (it is private to you: delete it once used)",
                        path.display()
                    ),
                    Ok(path) => format!("📎 saved {name} to {}", path.display()),
                    Err(e) => format!(
                        "📎 could not save {name} in {}: {e}",
                        self.attachments.display()
                    ),
                }
            })
            .collect();
        let mut out = self
            .out
            .lock()
            .map_err(|_| ChatError::Unavailable("console lock".into()))?;
        writeln!(out, "{prefix}{body}").map_err(|e| ChatError::Unavailable(e.to_string()))?;
        for line in saved {
            writeln!(out, "{indent}{line}").map_err(|e| ChatError::Unavailable(e.to_string()))?;
        }
        out.flush()
            .map_err(|e| ChatError::Unavailable(e.to_string()))
    }
}

/// One line of standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A line of text, without its line ending.
    Text(String),
    /// A line whose bytes are not UTF-8, so not read as a command.
    /// `valid_up_to` counts the bytes before the first bad one, when known (a
    /// terminal's line editor stops at the bad byte without saying where).
    NotText { valid_up_to: Option<usize> },
}

impl Line {
    /// Decodes one line's bytes (its `\n` or `\r\n` included or not) without
    /// loss: text only if every byte is UTF-8, never a guess.
    pub fn decode(mut bytes: Vec<u8>) -> Line {
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
            if bytes.last() == Some(&b'\r') {
                bytes.pop();
            }
        }
        match String::from_utf8(bytes) {
            Ok(text) => Line::Text(text),
            Err(e) => Line::NotText {
                valid_up_to: Some(e.utf8_error().valid_up_to()),
            },
        }
    }
}

/// The console's answer to a line that is not UTF-8: a refusal like any
/// message that is not a command, saying what was wrong and what to type.
pub fn not_text_refusal(valid_up_to: Option<usize>) -> Message {
    let error = crate::intent::ParseError::not_utf8(valid_up_to);
    Message::to_channel(CHANNEL, Renderer::new().parse_error(&error))
}

/// What the console says when its input ends and the process keeps running.
pub fn input_ended() -> Message {
    let text = Renderer::new().render("console.j2", serde_json::json!({ "kind": "input_ended" }));
    Message::to_channel(CHANNEL, text)
}

/// Reads `input` line by line into `lines` until the input ends, fails, or
/// nobody listens any more. A line that is not UTF-8 is passed on as
/// [`Line::NotText`]: the reading goes on after it.
pub fn read_lines(mut input: impl BufRead, lines: &tokio::sync::mpsc::Sender<Line>) {
    let mut bytes = Vec::new();
    loop {
        match input.read_until(b'\n', &mut bytes) {
            Ok(0) => return,
            Ok(_) => {
                if lines
                    .blocking_send(Line::decode(std::mem::take(&mut bytes)))
                    .is_err()
                {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::warn!(error = %e, "standard input failed; no more console lines");
                return;
            }
        }
    }
}

/// Lines from standard input: a line editor with history on a terminal, plain
/// lines from a pipe. Read on a thread of its own so the agent keeps streaming
/// progress while someone types. The channel closes when the input ends.
pub fn stdin_lines(user: &str) -> tokio::sync::mpsc::Receiver<Line> {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let prompt = format!("{user}> ");
    std::thread::spawn(move || {
        if std::io::stdin().is_terminal()
            && let Ok(mut editor) = rustyline::DefaultEditor::new()
        {
            loop {
                let line = match editor.readline(&prompt) {
                    Ok(line) => {
                        let _ = editor.add_history_entry(line.as_str());
                        Line::Text(line)
                    }
                    // The editor decodes as it reads and stops at a bad byte.
                    Err(rustyline::error::ReadlineError::Io(e))
                        if e.kind() == std::io::ErrorKind::InvalidData =>
                    {
                        Line::NotText { valid_up_to: None }
                    }
                    // Ctrl-D, Ctrl-C, or the terminal went away.
                    Err(_) => return,
                };
                if tx.blocking_send(line).is_err() {
                    return;
                }
            }
        }
        read_lines(std::io::stdin().lock(), &tx);
    });
    rx
}

/// Reads one console line as a chat message: `@name: TEXT` speaks as `name`
/// (unless `name` is the bot, which makes it a mention), anything else as
/// `default_user`.
pub fn incoming(line: &str, default_user: &str, bot: &str) -> Incoming {
    let line = line.trim_end_matches(['\n', '\r']);
    if let Some(rest) = line.strip_prefix('@')
        && let Some((name, text)) = rest.split_once(':')
        && !name.is_empty()
        && !name.eq_ignore_ascii_case(bot)
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Incoming {
            channel: CHANNEL.into(),
            user: name.to_string(),
            text: text.trim_start().to_string(),
        };
    }
    Incoming {
        channel: CHANNEL.into(),
        user: default_user.to_string(),
        text: line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Screen(Arc<Mutex<Vec<u8>>>);

    impl Write for Screen {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Screen {
        fn text(&self) -> String {
            String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap()
        }
    }

    fn chart(bytes: &[u8]) -> Message {
        Message {
            attachments: vec![Attachment {
                name: "metrics.png".into(),
                bytes: bytes.to_vec(),
            }],
            ..Message::to_channel(CHANNEL, "Deployment metrics\nsecond line")
        }
    }

    #[tokio::test]
    async fn attachments_are_saved_under_new_names_and_the_reply_says_where() {
        let dir = tempfile::tempdir().unwrap();
        let into = dir.path().join("attachments");
        // Left by an earlier session: never overwritten.
        std::fs::create_dir(&into).unwrap();
        std::fs::write(into.join("metrics-1.png"), b"earlier").unwrap();
        let screen = Screen::default();
        let console = Console::to(Box::new(screen.clone())).with_attachments_dir(into.clone());

        console.send(chart(b"first")).await.unwrap();
        console.send(chart(b"second")).await.unwrap();
        let out = screen.text();
        let (first, second) = (into.join("metrics-2.png"), into.join("metrics-3.png"));
        assert_eq!(
            out,
            format!(
                "switchyard: Deployment metrics\n            second line\n            \
                 📎 saved metrics.png to {}\n\
                 switchyard: Deployment metrics\n            second line\n            \
                 📎 saved metrics.png to {}\n",
                first.display(),
                second.display()
            )
        );
        assert_eq!(
            std::fs::read(into.join("metrics-1.png")).unwrap(),
            b"earlier"
        );
        assert_eq!(std::fs::read(&first).unwrap(), b"first");
        assert_eq!(std::fs::read(&second).unwrap(), b"second");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&first).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "owner only: {mode:o}");
        }
    }

    #[tokio::test]
    async fn an_attachment_that_cannot_be_saved_says_why_and_the_text_still_shows() {
        let dir = tempfile::tempdir().unwrap();
        // A file where the directory should be.
        let blocked = dir.path().join("not-a-dir");
        std::fs::write(&blocked, b"").unwrap();
        let screen = Screen::default();
        let console = Console::to(Box::new(screen.clone())).with_attachments_dir(blocked.clone());
        console.send(chart(b"png")).await.unwrap();
        let out = screen.text();
        assert!(out.starts_with("switchyard: Deployment metrics\n"), "{out}");
        assert!(
            out.contains(&format!(
                "📎 could not save metrics.png in {}:",
                blocked.display()
            )),
            "{out}"
        );
    }

    #[test]
    fn an_attachment_name_cannot_leave_the_directory() {
        assert_eq!(
            file_name_parts("metrics.png"),
            ("metrics".into(), ".png".into())
        );
        assert_eq!(
            file_name_parts("../../etc/passwd"),
            ("attachment".into(), ".etcpasswd".into())
        );
        assert_eq!(file_name_parts("README"), ("README".into(), String::new()));
        assert_eq!(file_name_parts(""), ("attachment".into(), String::new()));
    }

    #[test]
    fn a_line_that_is_not_utf8_is_passed_on_as_such_and_the_lines_after_it_are_read() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        let input: &[u8] = b"status\r\nlock prd caf\xe9\n\xff\nhelp";
        std::thread::spawn(move || read_lines(input, &tx))
            .join()
            .unwrap();
        let mut lines = Vec::new();
        while let Ok(line) = rx.try_recv() {
            lines.push(line);
        }
        assert_eq!(
            lines,
            [
                Line::Text("status".into()),
                Line::NotText {
                    valid_up_to: Some(12)
                },
                Line::NotText {
                    valid_up_to: Some(0)
                },
                Line::Text("help".into()),
            ]
        );
    }

    #[test]
    fn a_name_prefix_speaks_as_that_user_and_the_bot_name_is_a_mention() {
        assert_eq!(
            incoming("@bob: approve\n", "alice", "switchyard").user,
            "bob"
        );
        assert_eq!(
            incoming("@bob: approve", "alice", "switchyard").text,
            "approve"
        );
        let mention = incoming("@switchyard: status", "alice", "switchyard");
        assert_eq!(
            (mention.user.as_str(), mention.text.as_str()),
            ("alice", "@switchyard: status")
        );
        assert_eq!(incoming("status", "alice", "switchyard").user, "alice");
    }
}
