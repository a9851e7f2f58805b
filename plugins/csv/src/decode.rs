//! Reading csv output back: an RFC 4180 record reader and the decoder for the `extra_tags` and
//! `metadata` columns. The tests read k6's files and ours with it; users may too.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

/// Splits csv text into records of fields (RFC 4180: quoted fields may hold commas, doubled
/// quotes and line breaks; `\r\n` and `\n` both end a record). A last line without its line
/// break is an error: our files never end that way, and a truncated file must not pass.
pub fn read_records(text: &str) -> Result<Vec<Vec<String>>, DecodeError> {
    if !text.is_empty() && !text.ends_with('\n') {
        let line = text.lines().count();
        return Err(DecodeError(format!(
            "line {line}: the last record has no line break (truncated?)"
        )));
    }
    // The csv crate ends a quoted field left open at the end of the input: in a file whose
    // quotes open, close or double inside quoted fields, an odd count means one is open.
    if text.bytes().filter(|b| *b == b'"').count() % 2 == 1 {
        return Err(DecodeError("a quoted field is never closed".into()));
    }
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    rdr.records()
        .map(|r| {
            r.map(|r| r.iter().map(str::to_string).collect())
                .map_err(|e| DecodeError(e.to_string()))
        })
        .collect()
}

/// Decodes an `extra_tags` or `metadata` field: `k=v` pairs joined by `&`, with `%25`, `%26`,
/// `%3D` (and any other `%XX`) decoded. Empty field: no pairs.
pub fn decode_pairs(field: &str) -> Result<Vec<(String, String)>, DecodeError> {
    if field.is_empty() {
        return Ok(Vec::new());
    }
    field
        .split('&')
        .map(|pair| {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| DecodeError(format!("{pair:?} is not key=value")))?;
            Ok((unescape(k)?, unescape(v)?))
        })
        .collect()
}

fn unescape(s: &str) -> Result<String, DecodeError> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| DecodeError(format!("escape in {s:?} is not UTF-8")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn records() {
        let r = read_records("a,b\n\"x,y\",\"q\"\"\"\n\"two\nlines\",\n").unwrap();
        assert_eq!(r[0], vec!["a", "b"]);
        assert_eq!(r[1], vec!["x,y", "q\""]);
        assert_eq!(r[2], vec!["two\nlines", ""]);
        assert!(read_records("a,b\nc,d").is_err());
        assert!(read_records("\"open\n").is_err());
        assert!(read_records("a,\"x\ny\n").is_err());
        assert_eq!(
            read_records("a\r\nb\r\n").unwrap(),
            vec![vec!["a"], vec!["b"]]
        );
        assert_eq!(read_records("").unwrap(), Vec::<Vec<String>>::new());
    }

    #[test]
    fn pairs() {
        assert_eq!(
            decode_pairs("a%26b=x%3Dy&p=100%25").unwrap(),
            vec![("a&b".into(), "x=y".into()), ("p".into(), "100%".into())]
        );
        assert_eq!(decode_pairs("").unwrap(), vec![]);
        assert!(decode_pairs("novalue").is_err());
    }
}
