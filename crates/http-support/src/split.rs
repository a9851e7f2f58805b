//! Cutting a newline-separated body (line protocol, NDJSON, ...) into requests bounded in
//! bytes and lines, without copying.

/// Iterator over chunks of whole lines; see [`split_lines`].
#[derive(Debug, Clone)]
pub struct LineChunks<'a> {
    rest: &'a [u8],
    max_bytes: usize,
    max_lines: usize,
}

/// Splits `body` (lines ending in `\n`; a last line without one is fine) into slices of whole
/// lines, each at most `max_bytes` long and holding at most `max_lines` lines.
///
/// A single line longer than `max_bytes` comes alone in its own chunk (the caller decides
/// whether to send it and let the server judge, or drop it). Zero limits count as 1.
pub fn split_lines(body: &[u8], max_bytes: usize, max_lines: usize) -> LineChunks<'_> {
    LineChunks {
        rest: body,
        max_bytes: max_bytes.max(1),
        max_lines: max_lines.max(1),
    }
}

impl<'a> Iterator for LineChunks<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let mut end = 0;
        let mut lines = 0;
        while end < self.rest.len() && lines < self.max_lines {
            let line_end = self.rest[end..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(self.rest.len(), |p| end + p + 1);
            if line_end > self.max_bytes && lines > 0 {
                break;
            }
            end = line_end;
            lines += 1;
            if end >= self.max_bytes {
                break;
            }
        }
        let (chunk, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(chunk)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn chunks(body: &str, bytes: usize, lines: usize) -> Vec<&str> {
        split_lines(body.as_bytes(), bytes, lines)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect()
    }

    #[test]
    fn bounded_by_lines() {
        assert_eq!(chunks("a\nb\nc\n", 100, 2), vec!["a\nb\n", "c\n"]);
        assert_eq!(chunks("a\nb\nc", 100, 1), vec!["a\n", "b\n", "c"]);
    }

    #[test]
    fn bounded_by_bytes() {
        // "aa\n" = 3 bytes: two lines fit in 6, not in 5.
        assert_eq!(chunks("aa\nbb\ncc\n", 6, 100), vec!["aa\nbb\n", "cc\n"]);
        assert_eq!(chunks("aa\nbb\ncc\n", 5, 100), vec!["aa\n", "bb\n", "cc\n"]);
    }

    #[test]
    fn an_oversized_line_comes_alone() {
        assert_eq!(
            chunks("a\nbbbbbbbb\nc\n", 4, 100),
            vec!["a\n", "bbbbbbbb\n", "c\n"]
        );
    }

    #[test]
    fn every_byte_once_in_order() {
        let body: String = (0..1000)
            .map(|i| format!("line{i} {}\n", "x".repeat(i % 37)))
            .collect();
        for (b, l) in [
            (1, 1),
            (64, 3),
            (1000, 50),
            (1 << 20, 7),
            (1 << 20, 1 << 20),
        ] {
            let parts = chunks(&body, b, l);
            assert_eq!(parts.concat(), body);
            for p in &parts {
                let n = p.matches('\n').count();
                assert!(n <= l && (p.len() <= b || n == 1), "{b} {l} {p:?}");
            }
        }
        assert!(chunks("", 10, 10).is_empty());
    }
}
