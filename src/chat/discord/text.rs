//! Text the way Discord takes it: at most 2,000 characters a message (longer
//! answers are split at line breaks, and a very long one goes as a file), a
//! progress bar for the live status message, and pings written only as
//! `<@id>` for the users the bot means to notify — `allowed_mentions` (see
//! [`super::outbox`]) makes sure nothing else in the text pings anyone.

/// Discord's limit on a message's content.
pub const MAX_CONTENT: usize = 2000;

/// More parts than this and the answer goes as a file instead.
const MAX_PARTS: usize = 4;

/// How an answer goes out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// One message or a few, each within the limit.
    Parts(Vec<String>),
    /// A short note, and the whole text as `switchyard.txt`.
    File { note: String, text: String },
}

/// Splits `text` into messages of at most [`MAX_CONTENT`] characters, at line
/// breaks where it can (a single over-long line is cut at a character
/// boundary), or makes it a file when that would take too many messages.
pub fn shape(text: &str) -> Shape {
    if text.chars().count() <= MAX_CONTENT {
        return Shape::Parts(vec![text.to_string()]);
    }
    let mut parts: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in text.split_inclusive('\n') {
        let mut line = line;
        loop {
            let room = MAX_CONTENT - current.chars().count();
            if line.chars().count() <= room {
                current.push_str(line);
                break;
            }
            if !current.is_empty() {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            // A line longer than a whole message: cut it.
            let cut = line
                .char_indices()
                .nth(MAX_CONTENT)
                .map_or(line.len(), |(i, _)| i);
            parts.push(line[..cut].to_string());
            line = &line[cut..];
        }
    }
    if !current.is_empty() {
        parts.push(current);
    }
    if parts.len() > MAX_PARTS {
        let first = text.lines().next().unwrap_or_default();
        let first: String = first.chars().take(200).collect();
        return Shape::File {
            note: format!("{first}\n(the whole answer is attached: it is too long for a message)"),
            text: text.to_string(),
        };
    }
    Shape::Parts(
        parts
            .into_iter()
            .map(|p| p.trim_end_matches('\n').to_string())
            .collect(),
    )
}

/// `▰▰▰▱▱▱▱▱▱▱ 30%`.
pub fn progress_bar(percent: u8) -> String {
    let p = usize::from(percent.min(100));
    let filled = p.div_ceil(10);
    format!("{}{} {p}%", "▰".repeat(filled), "▱".repeat(10 - filled))
}

/// Keeps the first line and as many of the last lines as fit in `limit`
/// characters, marking what was left out.
pub fn head_and_tail(lines: &[String], limit: usize) -> String {
    let all = lines.join("\n");
    if all.chars().count() <= limit {
        return all;
    }
    let first = lines.first().cloned().unwrap_or_default();
    let gap = "…";
    let mut budget = limit.saturating_sub(first.chars().count() + gap.chars().count() + 2);
    let mut tail: Vec<&str> = Vec::new();
    for line in lines.iter().skip(1).rev() {
        let n = line.chars().count() + 1;
        if n > budget {
            break;
        }
        budget -= n;
        tail.push(line);
    }
    tail.reverse();
    let mut out = format!("{first}\n{gap}");
    for line in tail {
        out.push('\n');
        out.push_str(line);
    }
    out.chars().take(limit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_message() {
        assert_eq!(shape("hello"), Shape::Parts(vec!["hello".into()]));
    }

    #[test]
    fn long_text_splits_at_line_breaks_within_the_limit() {
        let line = "x".repeat(900);
        let text = [line.as_str(); 5].join("\n");
        let Shape::Parts(parts) = shape(&text) else {
            panic!("expected parts")
        };
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| p.chars().count() <= MAX_CONTENT));
        assert_eq!(parts.join("\n"), text);
    }

    #[test]
    fn one_huge_line_is_cut_and_a_huge_text_becomes_a_file() {
        let Shape::Parts(parts) = shape(&"é".repeat(4500)) else {
            panic!("expected parts")
        };
        assert_eq!(
            parts.iter().map(|p| p.chars().count()).collect::<Vec<_>>(),
            [2000, 2000, 500]
        );
        assert!(matches!(shape(&"y".repeat(9000)), Shape::File { .. }));
    }

    #[test]
    fn the_bar_fills_by_tenths() {
        assert_eq!(progress_bar(0), "▱▱▱▱▱▱▱▱▱▱ 0%");
        assert_eq!(progress_bar(25), "▰▰▰▱▱▱▱▱▱▱ 25%");
        assert_eq!(progress_bar(100), "▰▰▰▰▰▰▰▰▰▰ 100%");
    }

    #[test]
    fn a_long_log_keeps_its_first_and_last_lines() {
        let lines: Vec<String> = (0..200).map(|i| format!("line {i:03} ........")).collect();
        let out = head_and_tail(&lines, 500);
        assert!(out.chars().count() <= 500);
        assert!(out.starts_with("line 000"));
        assert!(out.ends_with("line 199 ........"));
        assert!(out.contains('…'));
    }
}
