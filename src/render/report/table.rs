//! Column layout for report templates, so that templates hold the words and
//! Rust holds the arithmetic of padding.
//!
//! A template writes a table as lines whose cells are separated by [`CELL`]
//! (`│`), and a rule as a line of [`RULE`] (`─`), e.g.
//!
//! ```text
//! Version │ Date │ Status
//! ─
//! 1.3.0 │ 2025-01-03 │ SUCCESS
//!   └─ Reason: anything, not a row
//! ```
//!
//! [`align`] then pads every cell to its column's width (two spaces between
//! columns, no trailing spaces) and stretches each rule to the table's width.
//! Columns are measured per block of consecutive non-blank lines, so a blank
//! line separates two tables; lines of a block without `│` (headings, reason
//! lines) are left as they are and do not widen it.
//!
//! Widths count characters, which is right for the ASCII and box-drawing text
//! reports contain; double-width scripts in user names would shift a column.

/// Separates the cells of a table row in a template.
pub const CELL: char = '│';

/// A line made only of this is a rule, drawn as wide as its table.
pub const RULE: char = '─';

/// Between two columns.
const GAP: &str = "  ";

/// Lays out every table in `text`; text without tables comes back unchanged.
pub fn align(text: &str) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut start = 0;
    while start < lines.len() {
        // A block: consecutive non-blank lines (or a single blank one).
        let end = if lines[start].trim().is_empty() {
            start + 1
        } else {
            lines[start..]
                .iter()
                .position(|l| l.trim().is_empty())
                .map_or(lines.len(), |n| start + n)
        };
        out.extend(align_block(&lines[start..end]));
        start = end;
    }
    out.join("\n")
}

fn align_block(block: &[&str]) -> Vec<String> {
    let rows: Vec<Vec<&str>> = block
        .iter()
        .filter(|l| l.contains(CELL))
        .map(|l| cells(l))
        .collect();
    if rows.is_empty() {
        return block.iter().map(|l| (*l).to_owned()).collect();
    }
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; columns];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let table_width = widths.iter().sum::<usize>() + GAP.len() * columns.saturating_sub(1);
    block
        .iter()
        .map(|line| {
            if line.contains(CELL) {
                row_line(&cells(line), &widths)
            } else if is_rule(line) {
                RULE.to_string().repeat(table_width)
            } else {
                (*line).to_owned()
            }
        })
        .collect()
}

fn cells(line: &str) -> Vec<&str> {
    line.split(CELL).map(str::trim).collect()
}

fn is_rule(line: &str) -> bool {
    let line = line.trim();
    !line.is_empty() && line.chars().all(|c| c == RULE)
}

fn row_line(cells: &[&str], widths: &[usize]) -> String {
    let mut line = String::new();
    for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
        if i > 0 {
            line.push_str(GAP);
        }
        line.push_str(cell);
        let pad = width.saturating_sub(cell.chars().count());
        line.extend(std::iter::repeat_n(' ', pad));
    }
    // The last column is padded like the others above; a row never ends in
    // spaces, which chat clients and diff tools treat differently.
    line.truncate(line.trim_end().len());
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_padded_to_their_column_and_rules_span_the_table() {
        let text = "Title:\n\nVersion │ Date │ Status\n─\n1.3.0 │ 2025-01-03 │ ROLLED BACK\n  └─ Reason: slow\n1.10.22 │ 2024-12-20 │ SUCCESS\n\nAfter.";
        // 7 + 10 + 11 characters of cells and two gaps of 2.
        let rule = "─".repeat(32);
        let expected = format!(
            "Title:\n\n\
            Version  Date        Status\n\
            {rule}\n\
            1.3.0    2025-01-03  ROLLED BACK\n  \
            └─ Reason: slow\n\
            1.10.22  2024-12-20  SUCCESS\n\nAfter."
        );
        assert_eq!(align(text), expected);
    }

    #[test]
    fn a_blank_line_separates_tables_with_their_own_widths() {
        let text = "a │ b\n─\nlonger │ x\n\nc │ d\n─";
        assert_eq!(align(text), "a       b\n─────────\nlonger  x\n\nc  d\n────");
    }

    #[test]
    fn text_without_tables_is_unchanged() {
        for text in [
            "",
            "\n",
            "one line",
            "No deployments recorded for prd yet.\n",
        ] {
            assert_eq!(align(text), text);
        }
    }

    #[test]
    fn ragged_rows_and_empty_cells_do_not_panic_or_trail_spaces() {
        let text = "a │ b │ c\nx\n│\nlong │\n─";
        let aligned = align(text);
        assert!(aligned.lines().all(|l| l == l.trim_end()), "{aligned:?}");
        assert_eq!(aligned, "a     b  c\nx\n\nlong\n──────────");
    }
}
