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
    /// Where the rows came from, for messages.
    file: String,
    cursor: AtomicUsize,
}

impl FeedData {
    pub fn load(name: &str, path: &Path, mode: FeedMode) -> Result<FeedData, String> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path)
            .map_err(|e| format!("data feed {name}: cannot read {file}: {e}"))?;
        let (columns, rows) =
            parse_csv(&bytes).map_err(|e| format!("data feed {name}: {file}: {e}"))?;
        if columns.is_empty() {
            return Err(format!("data feed {name}: {file} is empty"));
        }
        if rows.is_empty() {
            return Err(format!("data feed {name}: {file} has a header but no rows"));
        }
        Ok(FeedData {
            name: name.to_string(),
            columns,
            rows,
            mode,
            file,
            cursor: AtomicUsize::new(0),
        })
    }

    /// `unique` gives VU n row n, so the run may not have more VUs than there are rows; reusing
    /// a row would quietly break what `unique` promises (say, one login per user).
    pub fn check_vus(&self, max_vus: u64) -> Result<(), String> {
        if self.mode == FeedMode::Unique && max_vus > self.rows.len() as u64 {
            return Err(format!(
                "data feed {}: mode = \"unique\" gives each VU its own row, but {} has {} rows \
                 for up to {max_vus} VUs; add rows, use fewer VUs, or use mode = \"sequential\"",
                self.name,
                self.file,
                self.rows.len()
            ));
        }
        Ok(())
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
            // `check_vus` keeps VU ids within the rows; the modulo only guards the index.
            FeedMode::Unique => (vu.saturating_sub(1) as usize) % n,
        }
    }

    pub fn value(&self, row: usize, col: usize) -> Option<&str> {
        self.rows.get(row)?.get(col).map(String::as_str)
    }
}

/// RFC 4180 CSV with a header line. Every row must have as many fields as the header; blank lines
/// are skipped. Errors name the line.
pub fn parse_csv(bytes: &[u8]) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let columns: Vec<String> = rdr
        .headers()
        .map_err(|e| describe(&e))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    let mut last_start = None;
    for record in rdr.records() {
        let record = record.map_err(|e| describe(&e))?;
        last_start = record.position().map(|p| (p.byte(), p.line()));
        rows.push(record.iter().map(str::to_string).collect());
    }
    // The csv crate ends an unclosed quoted field at the end of the input, so one stray quote
    // would make the rest of the file a single value.
    let (start, line) = last_start.unwrap_or((0, 1));
    if ends_in_open_quote(bytes.get(start as usize..).unwrap_or_default()) {
        return Err(format!(
            "line {line}: a quoted field is never closed (it runs to the end of the file)"
        ));
    }
    Ok((columns, rows))
}

fn describe(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => {
            let line = pos.as_ref().map(|p| p.line()).unwrap_or(0);
            format!("line {line}: {len} fields, but the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { pos, .. } => {
            let line = pos.as_ref().map(|p| p.line()).unwrap_or(0);
            format!("line {line}: not UTF-8")
        }
        _ => e.to_string(),
    }
}

/// Whether `text`, from the start of a record, leaves a quoted field open: quotes open a field
/// only at its start, and a doubled quote inside one is a literal quote.
fn ends_in_open_quote(text: &[u8]) -> bool {
    let mut in_quotes = false;
    let mut field_start = true;
    let mut just_closed = false;
    for &b in text {
        if in_quotes {
            if b == b'"' {
                in_quotes = false;
                just_closed = true;
            }
            continue;
        }
        if b == b'"' && (field_start || just_closed) {
            in_quotes = true;
        }
        field_start = matches!(b, b',' | b'\n' | b'\r');
        just_closed = false;
    }
    in_quotes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv() {
        let (cols, rows) = parse_csv(b"user,pass\r\nalice,\"p,w\"\"d\"\n\nbob,\"x\ny\"\n").unwrap();
        assert_eq!(cols, vec!["user", "pass"]);
        assert_eq!(rows, vec![vec!["alice", "p,w\"d"], vec!["bob", "x\ny"]]);
        let (_, rows) = parse_csv(b"a\n1\n2").unwrap();
        assert_eq!(rows, vec![vec!["1"], vec!["2"]]);
    }

    #[test]
    fn a_ragged_row_is_an_error_with_its_line() {
        let e = parse_csv(b"user,pass\nalice,a1\nbob\ncarol,c3\n").unwrap_err();
        assert_eq!(e, "line 3: 1 fields, but the header has 2");
        let e = parse_csv(b"user,pass\nalice,a1,extra\n").unwrap_err();
        assert_eq!(e, "line 2: 3 fields, but the header has 2");
    }

    #[test]
    fn an_unterminated_quote_is_an_error_with_its_line() {
        // Without the check this is two rows, the second one's password being "x\ncarol,y\n".
        let e = parse_csv(b"user,pass\nalice,a1\nbob,\"x\ncarol,y\n").unwrap_err();
        assert!(
            e.starts_with("line 3: a quoted field is never closed"),
            "{e}"
        );
        let e = parse_csv(b"user\n\"alice\nbob\n").unwrap_err();
        assert!(e.starts_with("line 2: "), "{e}");
        // Closed ones, doubled quotes and quotes inside unquoted fields are fine.
        assert!(parse_csv(b"a,b\n\"x\"\"\",y\nab\"c,d\n").is_ok());
    }

    #[test]
    fn unique_needs_a_row_per_vu() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.csv");
        std::fs::write(&path, "user\nalice\nbob\n").unwrap();
        let feed = FeedData::load("users", &path, FeedMode::Unique).unwrap();
        assert!(feed.check_vus(2).is_ok());
        let e = feed.check_vus(3).unwrap_err();
        assert!(e.contains("data feed users"), "{e}");
        assert!(e.contains("has 2 rows for up to 3 VUs"), "{e}");
        let seq = FeedData::load("users", &path, FeedMode::Sequential).unwrap();
        assert!(seq.check_vus(3).is_ok());
    }
}
