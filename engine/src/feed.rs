//! CSV data feeds: rows loaded once, shared by every VU.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::plan::FeedMode;

#[derive(Debug)]
pub struct FeedData {
    pub name: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub mode: FeedMode,
    cursor: AtomicUsize,
}

impl FeedData {
    pub fn load(name: &str, path: &Path, mode: FeedMode) -> Result<FeedData, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("data feed {name}: cannot read {}: {e}", path.display()))?;
        let mut records = parse_csv(&text).into_iter();
        let columns = records
            .next()
            .ok_or_else(|| format!("data feed {name}: {} is empty", path.display()))?;
        let rows: Vec<Vec<String>> = records
            .filter(|r| !(r.len() == 1 && r[0].is_empty()))
            .collect();
        if rows.is_empty() {
            return Err(format!(
                "data feed {name}: {} has a header but no rows",
                path.display()
            ));
        }
        Ok(FeedData {
            name: name.to_string(),
            columns,
            rows,
            mode,
            cursor: AtomicUsize::new(0),
        })
    }

    pub fn column(&self, col: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == col)
    }

    /// The row for the next iteration of VU `vu` (1-based).
    pub fn next_row(&self, vu: u64) -> usize {
        let n = self.rows.len();
        match self.mode {
            FeedMode::Sequential => self.cursor.fetch_add(1, Ordering::Relaxed) % n,
            FeedMode::Random => rand::random::<usize>() % n,
            FeedMode::Unique => (vu.saturating_sub(1) as usize) % n,
        }
    }

    pub fn value(&self, row: usize, col: usize) -> Option<&str> {
        self.rows.get(row)?.get(col).map(String::as_str)
    }
}

/// RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF line ends.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut in_quotes = false;
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    in_quotes = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' => in_quotes = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                out.push(std::mem::take(&mut row));
                any = false;
            }
            c => field.push(c),
        }
    }
    if any {
        row.push(field);
        out.push(row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv() {
        let rows = parse_csv("user,pass\r\nalice,\"p,w\"\"d\"\nbob,x\n");
        assert_eq!(
            rows,
            vec![
                vec!["user", "pass"],
                vec!["alice", "p,w\"d"],
                vec!["bob", "x"]
            ]
        );
    }
}
