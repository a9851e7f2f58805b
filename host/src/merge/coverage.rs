//! Whether the instances' segments cover the test exactly once: what is missing and what is
//! doubled, named as exact fractions.

use loadrun_engine::segment::{parse_ratio, ExecutionSegment, Ratio};

/// One file's share.
pub struct Share<'a> {
    pub file: &'a str,
    pub segment: ExecutionSegment,
}

/// Reads a file's `segment` and `sequence` fields; the message names the file.
pub fn parse_share<'a>(
    file: &'a str,
    segment: &str,
    sequence: &[String],
) -> Result<(Share<'a>, Vec<Ratio>), String> {
    let segment: ExecutionSegment = segment
        .parse()
        .map_err(|e| format!("{file}: segment '{segment}': {e}"))?;
    let sequence = sequence
        .iter()
        .map(|p| parse_ratio(p).map_err(|e| format!("{file}: sequence point '{p}': {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((Share { file, segment }, sequence))
}

/// `Err` with one line naming every range covered by no file or by several (and by which).
pub fn check(shares: &[Share<'_>]) -> Result<(), String> {
    let mut points: Vec<Ratio> = vec![Ratio::ZERO, Ratio::int(1)];
    for s in shares {
        points.push(s.segment.from());
        points.push(s.segment.to());
    }
    points.sort();
    points.dedup();
    // Elementary ranges between consecutive boundaries, with the files that cover each.
    let mut ranges: Vec<(Ratio, Ratio, Vec<&str>)> = Vec::new();
    for pair in points.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let by: Vec<&str> = shares
            .iter()
            .filter(|s| s.segment.from() <= a && b <= s.segment.to())
            .map(|s| s.file)
            .collect();
        match ranges.last_mut() {
            // Adjacent ranges with the same files read as one.
            Some(last) if last.1 == a && last.2 == by => last.1 = b,
            _ => ranges.push((a, b, by)),
        }
    }
    let missing: Vec<String> = ranges
        .iter()
        .filter(|r| r.2.is_empty())
        .map(|r| format!("{}:{}", r.0, r.1))
        .collect();
    let doubled: Vec<String> = ranges
        .iter()
        .filter(|r| r.2.len() > 1)
        .map(|r| format!("{}:{} (by {})", r.0, r.1, r.2.join(", ")))
        .collect();
    if missing.is_empty() && doubled.is_empty() {
        return Ok(());
    }
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing {}", missing.join(", ")));
    }
    if !doubled.is_empty() {
        parts.push(format!("covered twice {}", doubled.join(", ")));
    }
    Err(format!(
        "the results do not cover the test exactly once: {}",
        parts.join("; ")
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn shares<'a>(list: &[(&'a str, &str)]) -> Vec<Share<'a>> {
        list.iter()
            .map(|(f, s)| parse_share(f, s, &[]).unwrap().0)
            .collect()
    }

    #[test]
    fn complete_coverage_passes_in_any_order() {
        let s = shares(&[("c", "2/3:1"), ("a", "0:1/3"), ("b", "1/3:2/3")]);
        assert_eq!(check(&s), Ok(()));
        assert_eq!(check(&shares(&[("a", "0:1")])), Ok(()));
        // k6's other syntaxes: percentages and decimals are the same fractions.
        assert_eq!(check(&shares(&[("a", "0:25%"), ("b", "0.25:1")])), Ok(()));
    }

    #[test]
    fn missing_and_doubled_ranges_are_named() {
        let e = check(&shares(&[("a", "0:1/3"), ("c", "2/3:1")])).unwrap_err();
        assert!(e.ends_with("missing 1/3:2/3"), "{e}");
        let e = check(&shares(&[("a", "0:1/2"), ("b", "1/3:1")])).unwrap_err();
        assert!(e.ends_with("covered twice 1/3:1/2 (by a, b)"), "{e}");
        let e = check(&shares(&[("a", "0:1/3"), ("b", "0:1/3")])).unwrap_err();
        assert!(
            e.contains("missing 1/3:1") && e.contains("covered twice 0:1/3 (by a, b)"),
            "{e}"
        );
        assert!(check(&[]).unwrap_err().ends_with("missing 0:1"));
    }

    #[test]
    fn bad_segments_name_the_file() {
        let Err(e) = parse_share("x.json", "2/3:1/3", &[]) else {
            panic!()
        };
        assert!(e.starts_with("x.json: segment '2/3:1/3'"), "{e}");
        let Err(e) = parse_share("y.json", "0:1", &["0".into(), "half".into()]) else {
            panic!()
        };
        assert!(e.starts_with("y.json: sequence point 'half'"), "{e}");
    }
}
