//! The HTML report: the live page with its scripts and styles inlined and the run's events
//! embedded, so the one file opens anywhere without a network request.
//!
//! The events are embedded as `window.LOADRUN_EVENTS = "BASE64"`: the gzipped JSON array of the
//! NDJSON lines (`[{"event":..,"data":..},...]`), which the page inflates with
//! `DecompressionStream`. Gzip keeps a long run's report a few times smaller; its header carries
//! no time, so the same events always give the same bytes (`loadrun report` rebuilds a report
//! identical to the one the run wrote).

use std::io::{self, BufRead, Write};
use std::path::Path;

use base64::Engine as _;
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::assets;
use crate::encoder::Event;

/// The page when the build had none (never in a release: the page's files are committed).
const FALLBACK_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>loadrun report</title></head><body><p>This build carries no dashboard page; the events are embedded below.</p></body></html>";

/// Why `loadrun report` could not rebuild a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: io::Error },
    #[error("{path}:{line}: {message}")]
    Line {
        path: String,
        line: usize,
        message: String,
    },
    #[error("{path}: no events (an empty recording)")]
    Empty { path: String },
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: io::Error },
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

/// The events as the page reads them: gzip of the JSON array, in base64. Streamed into the
/// compressor, so a long run's events are not held twice as text.
pub fn embedded_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> String {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(b"[");
    for (i, e) in events.into_iter().enumerate() {
        if i > 0 {
            let _ = enc.write_all(b",");
        }
        let _ = enc.write_all(e.ndjson().as_bytes());
    }
    let _ = enc.write_all(b"]");
    base64::engine::general_purpose::STANDARD.encode(enc.finish().unwrap_or_default())
}

/// An attribute's value in a tag's text (`src="x"` or `src='x'`).
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = tag;
    while let Some(i) = rest.find(name) {
        let before_ok = rest[..i]
            .chars()
            .next_back()
            .is_some_and(char::is_whitespace);
        let after = rest[i + name.len()..].trim_start();
        if before_ok {
            if let Some(v) = after.strip_prefix('=') {
                let v = v.trim_start();
                let q = v.chars().next()?;
                if q == '"' || q == '\'' {
                    let end = v[1..].find(q)?;
                    return Some(&v[1..1 + end]);
                }
            }
        }
        rest = &rest[i + name.len()..];
    }
    None
}

/// Inline text can hold anything but the end of its element.
fn safe_inline(text: &str, element: &str) -> String {
    text.replace(&format!("</{element}"), &format!("<\\/{element}"))
}

/// The page with every `<script src=ASSET>` and `<link href=ASSET.css>` replaced by the
/// asset's text, and the events injected before the first script.
pub fn build_html<'a>(events: impl IntoIterator<Item = &'a Event>) -> String {
    let page = assets::get("index.html")
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_else(|| FALLBACK_PAGE.to_string());
    let data = format!(
        "<script>window.LOADRUN_EVENTS=\"{}\";</script>",
        embedded_events(events)
    );
    let mut out = String::with_capacity(page.len() + data.len() + 64 * 1024);
    let mut injected = false;
    let mut rest = page.as_str();
    loop {
        let next = [rest.find("<script"), rest.find("<link")]
            .into_iter()
            .flatten()
            .min();
        let Some(at) = next else {
            break;
        };
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(open_end) = rest.find('>') else {
            break;
        };
        let open = &rest[..=open_end];
        if open.starts_with("<script") {
            if !injected {
                out.push_str(&data);
                injected = true;
            }
            let close = rest.find("</script>").map(|i| i + "</script>".len());
            match (attr(open, "src").and_then(assets::get), close) {
                (Some(body), Some(close)) => {
                    out.push_str("<script>");
                    out.push_str(&safe_inline(&String::from_utf8_lossy(body), "script"));
                    out.push_str("</script>");
                    rest = &rest[close..];
                }
                _ => {
                    out.push_str(open);
                    rest = &rest[open.len()..];
                }
            }
        } else {
            match attr(open, "href")
                .filter(|h| h.ends_with(".css"))
                .and_then(assets::get)
            {
                Some(body) => {
                    out.push_str("<style>");
                    out.push_str(&safe_inline(&String::from_utf8_lossy(body), "style"));
                    out.push_str("</style>");
                }
                None => out.push_str(open),
            }
            rest = &rest[open.len()..];
        }
    }
    out.push_str(rest);
    if !injected {
        match out.find("</body>") {
            Some(i) => out.insert_str(i, &data),
            None => out.push_str(&data),
        }
    }
    out
}

/// Writes `bytes` to `path`, gzipped when the name ends in `.gz`.
pub fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let gz = path.extension().is_some_and(|e| e == "gz");
    let body = if gz { gzip(bytes) } else { bytes.to_vec() };
    let tmp = path.with_extension(match path.extension() {
        Some(e) => format!("{}.partial", e.to_string_lossy()),
        None => "partial".into(),
    });
    std::fs::write(&tmp, body)?;
    std::fs::rename(&tmp, path)
}

/// Reads a recorded stream (NDJSON, gzipped when the name ends in `.gz`).
pub fn read_record(path: &Path) -> Result<Vec<Event>, ReportError> {
    let shown = path.display().to_string();
    let read_err = |source| ReportError::Read {
        path: shown.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let reader: Box<dyn BufRead> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(io::BufReader::new(flate2::read::MultiGzDecoder::new(file)))
    } else {
        Box::new(io::BufReader::new(file))
    };
    let mut events = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| ReportError::Line {
            path: shown.clone(),
            line: i + 1,
            message: e.to_string(),
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let event = Event::parse(&line).map_err(|e| ReportError::Line {
            path: shown.clone(),
            line: i + 1,
            message: e.to_string(),
        })?;
        events.push(event);
    }
    if events.is_empty() {
        return Err(ReportError::Empty { path: shown });
    }
    Ok(events)
}

/// `loadrun report EVENTS -o REPORT`: the report of a recorded stream.
pub fn rebuild(record: &Path, report: &Path) -> Result<usize, ReportError> {
    let events = read_record(record)?;
    write_file(report, build_html(&events).as_bytes()).map_err(|source| ReportError::Write {
        path: report.display().to_string(),
        source,
    })?;
    Ok(events.len())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::Read;

    fn events() -> Vec<Event> {
        vec![
            Event::new("start", &serde_json::json!({"time": 1})),
            Event::new("stop", &serde_json::json!({"time": 2, "s": "</script>"})),
        ]
    }

    #[test]
    fn attributes() {
        assert_eq!(attr(r#"<script src="./a.js">"#, "src"), Some("./a.js"));
        assert_eq!(
            attr("<link rel='stylesheet' href='b.css'>", "href"),
            Some("b.css")
        );
        assert_eq!(attr(r#"<script data-src="x" src = "y">"#, "src"), Some("y"));
        assert_eq!(attr("<script>", "src"), None);
    }

    #[test]
    fn assets_inlined_and_events_embedded() {
        let html = build_html(&events());
        assert!(!html.contains("src=\"./dashboard.js\""), "{html}");
        assert!(!html.contains("href=\"./dashboard.css\""), "{html}");
        assert!(html.contains("<style>"), "{html}");
        let at = html.find("window.LOADRUN_EVENTS=\"").unwrap() + 23;
        let b64 = &html[at..at + html[at..].find('"').unwrap()];
        let gz = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let mut json = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut json)
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v[1]["event"], "stop");
        assert_eq!(v[1]["data"]["s"], "</script>");
        // Deterministic: the same events, the same bytes.
        assert_eq!(html, build_html(&events()));
    }

    #[test]
    fn record_errors_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.ndjson");
        std::fs::write(&p, "{\"event\":\"start\",\"data\":{}}\n\nnot json\n").unwrap();
        let e = read_record(&p).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}:3: ", p.display())), "{e}");
        std::fs::write(&p, "").unwrap();
        assert!(read_record(&p)
            .unwrap_err()
            .to_string()
            .contains("no events"));
        let e = read_record(&dir.path().join("missing"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot read"), "{e}");
    }

    #[test]
    fn gz_written_and_read() {
        let dir = tempfile::tempdir().unwrap();
        let rec = dir.path().join("e.ndjson.gz");
        let lines: String = events().iter().map(|e| e.ndjson() + "\n").collect();
        write_file(&rec, lines.as_bytes()).unwrap();
        assert_eq!(read_record(&rec).unwrap(), events());
        let out = dir.path().join("r.html.gz");
        assert_eq!(rebuild(&rec, &out).unwrap(), 2);
        let mut html = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&out).unwrap())
            .read_to_string(&mut html)
            .unwrap();
        assert_eq!(html, build_html(&events()));
    }
}
