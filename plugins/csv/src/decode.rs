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
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut line = 1usize;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        match c {
            '"' if at_field_start => {
                loop {
                    match chars.next() {
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some('"') => break,
                        Some(c) => {
                            if c == '\n' {
                                line += 1;
                            }
                            field.push(c);
                        }
                        None => {
                            return Err(DecodeError(format!(
                                "line {line}: unterminated quoted field"
                            )))
                        }
                    }
                }
                if !matches!(chars.peek(), Some(',' | '\n' | '\r') | None) {
                    return Err(DecodeError(format!(
                        "line {line}: text after a closing quote"
                    )));
                }
                at_field_start = false;
            }
            ',' => {
                record.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                at_field_start = true;
                line += 1;
            }
            '"' => {
                return Err(DecodeError(format!(
                    "line {line}: a quote inside an unquoted field"
                )))
            }
            c => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    if !field.is_empty() || !record.is_empty() {
        return Err(DecodeError(format!(
            "line {line}: the last record has no line break (truncated?)"
        )));
    }
    Ok(records)
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
    if !s.contains('%') {
        return Ok(s.to_string());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| DecodeError(format!("bad escape in {s:?}")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| DecodeError(format!("escape in {s:?} is not UTF-8")))
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
