//! Small text helpers shared by the plan, the client and the test server.

use std::time::Duration;

/// Parses k6-style durations: `500ms`, `30s`, `1m30s`, `2h`, `1.5s`, `250us`. A bare number is
/// seconds here, as plans document it (k6's own options would read milliseconds).
pub fn parse_duration(text: &str) -> Option<Duration> {
    loadrun_plugin_api::options::parse_duration_with_bare_unit(text, Duration::from_secs(1))
}

/// `1m30s`-style rendering for messages.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if !ms.is_multiple_of(1000) {
        return if ms < 1000 {
            format!("{ms}ms")
        } else {
            format!("{:.1}s", d.as_secs_f64())
        };
    }
    let s = d.as_secs();
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if sec > 0 || out.is_empty() {
        out.push_str(&format!("{sec}s"));
    }
    out
}

/// Decodes `%XX` escapes (and `+` as space when `plus` is set, as in forms and query strings).
pub fn percent_decode(s: &str, plus: bool) -> String {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    match plus {
        true => decode(&s.replace('+', " ")),
        false => decode(s),
    }
}

/// Encodes for a query string or form value (RFC 3986 unreserved characters kept).
pub fn percent_encode_into(s: &str, out: &mut String) {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    out.extend(utf8_percent_encode(s, ESCAPED));
}

/// Splits `a=1&b=2` into decoded pairs.
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k, true), percent_decode(v, true)),
            None => (percent_decode(p, true), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("2x"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
    }

    #[test]
    fn percent() {
        assert_eq!(percent_decode("a%20b+c", true), "a b c");
        assert_eq!(percent_decode("100%", false), "100%");
        let mut s = String::new();
        percent_encode_into("a b&c", &mut s);
        assert_eq!(s, "a%20b%26c");
        assert_eq!(
            parse_query("a=1&b=x%2By"),
            vec![("a".into(), "1".into()), ("b".into(), "x+y".into())]
        );
    }
}
