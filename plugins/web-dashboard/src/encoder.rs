//! The dashboard's events (EVENTS.md) and their two framings: SSE for `/events`, NDJSON for
//! `record=` and for the report. Pure: no I/O, no clock.

use serde::Serialize;
use serde_json::value::RawValue;

pub const CONFIG: &str = "config";
pub const METRIC: &str = "metric";
pub const START: &str = "start";
pub const SNAPSHOT: &str = "snapshot";
pub const CUMULATIVE: &str = "cumulative";
pub const THRESHOLD: &str = "threshold";
pub const HEALTH: &str = "health";
pub const STOP: &str = "stop";

/// What the `stop` event's SSE frame adds: the browser's EventSource would otherwise reconnect
/// when the server closes the stream, and get the whole run again.
pub const NO_RECONNECT: &str = "retry: 2147483647\n";

/// One event: its name and its data as one line of JSON (serialized once, sent many times).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub name: String,
    /// One line of JSON.
    pub data: String,
}

#[derive(serde::Deserialize)]
struct Line<'a> {
    event: &'a str,
    #[serde(borrow)]
    data: &'a RawValue,
}

/// Why a recorded line is not an event.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct BadLine(String);

impl Event {
    pub fn new(name: &str, data: &impl Serialize) -> Self {
        // serde_json writes a Value or a derived struct without a newline, which is what both
        // framings need; it can fail only on a map with non-string keys, which no event has.
        Self {
            name: name.to_string(),
            data: serde_json::to_string(data).unwrap_or_else(|_| "null".into()),
        }
    }

    /// `event: NAME\ndata: JSON\n\n`, with [`NO_RECONNECT`] on `stop`.
    pub fn sse(&self) -> String {
        let retry = if self.name == STOP { NO_RECONNECT } else { "" };
        format!("event: {}\n{retry}data: {}\n\n", self.name, self.data)
    }

    /// `{"event":"NAME","data":JSON}` without the newline.
    pub fn ndjson(&self) -> String {
        let name = serde_json::to_string(&self.name).unwrap_or_else(|_| "\"\"".into());
        format!("{{\"event\":{name},\"data\":{}}}", self.data)
    }

    /// Reads one NDJSON line back; the data is kept byte for byte.
    pub fn parse(line: &str) -> Result<Self, BadLine> {
        let l: Line<'_> = serde_json::from_str(line)
            .map_err(|e| BadLine(format!("not an event ({{\"event\":..,\"data\":..}}): {e}")))?;
        if l.event.is_empty() || l.event.contains(['\n', '\r']) {
            return Err(BadLine(format!("bad event name {:?}", l.event)));
        }
        Ok(Self {
            name: l.event.to_string(),
            data: l.data.get().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn framings() {
        let e = Event::new(START, &json!({"time": 5}));
        assert_eq!(e.sse(), "event: start\ndata: {\"time\":5}\n\n");
        assert_eq!(e.ndjson(), r#"{"event":"start","data":{"time":5}}"#);
        let stop = Event::new(STOP, &json!({"passed": true}));
        assert_eq!(
            stop.sse(),
            "event: stop\nretry: 2147483647\ndata: {\"passed\":true}\n\n"
        );
    }

    #[test]
    fn ndjson_round_trip_keeps_bytes() {
        let line = r#"{"event":"snapshot","data":{"z":1,"a":[1.50,2]}}"#;
        let e = Event::parse(line).unwrap();
        assert_eq!(e.name, "snapshot");
        assert_eq!(e.data, r#"{"z":1,"a":[1.50,2]}"#);
        assert_eq!(e.ndjson(), line);
    }

    #[test]
    fn bad_lines_say_why() {
        assert!(Event::parse("{").unwrap_err().0.contains("not an event"));
        assert!(Event::parse(r#"{"event":"x"}"#).is_err());
        assert!(Event::parse(r#"{"event":"","data":1}"#).is_err());
        assert!(Event::parse(r#"{"data":1}"#).is_err());
    }
}
