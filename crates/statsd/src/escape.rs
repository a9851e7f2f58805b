//! Names and tags that no StatsD parser misreads.
//!
//! StatsD splits a line on `:` (name/value), `|` (fields) and `\n` (lines); DogStatsD adds `#`
//! (tag section), `,` (tag separator) and `@` (sample rate). k6 embedded raw check names
//! ("status is 200") and raw tag values (`group:::g1`, URLs) in its lines; we replace every
//! character that has a meaning with `_`.

/// A metric name segment from free text (a check name): letters, digits, `_` and `-` kept,
/// every other run of characters becomes one `_`, no leading or trailing `_`. A dot would add a
/// hierarchy level in Graphite-style backends, so it is replaced too. Empty input gives `_`.
pub fn safe_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_sep = false;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            if pending_sep && !out.is_empty() {
                out.push('_');
            }
            pending_sep = false;
            out.push(c);
        } else {
            pending_sep = true;
        }
    }
    if out.is_empty() {
        out.push('_');
    }
    out
}

/// A full metric name: dots are kept (they are the namespace separator), every character StatsD
/// or DogStatsD gives a meaning to, and whitespace, becomes `_`.
pub fn safe_metric_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if is_reserved(c) || c.is_whitespace() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// A DogStatsD tag key: as a value, and `:` too (the first `:` ends the key).
pub fn escape_tag_key(key: &str) -> String {
    key.chars()
        .map(|c| {
            if is_tag_reserved(c) || c == ':' {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// A DogStatsD tag value: `|`, `,`, `#` and line breaks become `_`. A `:` is kept: the
/// agent splits a tag on its first colon only, so `group:::g1` stays key `group`, value `::g1`.
pub fn escape_tag_value(value: &str) -> String {
    value
        .chars()
        .map(|c| if is_tag_reserved(c) { '_' } else { c })
        .collect()
}

fn is_reserved(c: char) -> bool {
    matches!(c, ':' | '|' | '@' | '#' | ',' | '\n' | '\r' | '\0')
}

fn is_tag_reserved(c: char) -> bool {
    matches!(c, '|' | ',' | '#' | '\n' | '\r' | '\0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_names_become_one_segment() {
        assert_eq!(safe_segment("status is 200"), "status_is_200");
        assert_eq!(safe_segment("body.len > 0 !"), "body_len_0");
        assert_eq!(safe_segment("  ok  "), "ok");
        assert_eq!(safe_segment("résumé|x"), "r_sum_x");
        assert_eq!(safe_segment("???"), "_");
        assert_eq!(safe_segment("a-b_c"), "a-b_c");
    }

    #[test]
    fn metric_names_keep_dots() {
        assert_eq!(safe_metric_name("k6.http_reqs"), "k6.http_reqs");
        assert_eq!(
            safe_metric_name("my metric:x|y@z#w,v"),
            "my_metric_x_y_z_w_v"
        );
    }

    #[test]
    fn tags_lose_separators_only() {
        assert_eq!(escape_tag_value("::g1"), "::g1");
        assert_eq!(escape_tag_value("a|b,c#d@e\nf"), "a_b_c_d@e_f");
        assert_eq!(
            escape_tag_value("http://h:1/p?a=1,b=2"),
            "http://h:1/p?a=1_b=2"
        );
        assert_eq!(escape_tag_key("we:ird,key"), "we_ird_key");
    }
}
