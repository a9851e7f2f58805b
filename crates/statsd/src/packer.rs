//! Units into payloads of at most `max` bytes, joined by `\n`, never splitting a unit.
//!
//! A unit longer than `max` cannot be sent without breaking the limit or the line, so it is
//! dropped and counted (the caller warns); with the default tag blocklist that takes a tag
//! value of over a kilobyte.

/// The payloads, and how many units were too long to send.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Packed {
    pub payloads: Vec<String>,
    /// How many samples each payload stands for (same order as `payloads`).
    pub samples: Vec<u64>,
    pub oversize: u64,
    /// The samples of the oversize units.
    pub oversize_samples: u64,
}

/// A unit to pack: its text and the samples it stands for (0 when not counted).
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    pub text: String,
    pub samples: u64,
}

impl From<String> for Unit {
    fn from(text: String) -> Self {
        Unit { text, samples: 0 }
    }
}

impl From<(String, u64)> for Unit {
    fn from((text, samples): (String, u64)) -> Self {
        Unit { text, samples }
    }
}

/// Packs for UDP: each datagram holds whole units separated by `\n`, no trailing newline.
pub fn pack_datagrams<I, U>(units: I, max: usize) -> Packed
where
    I: IntoIterator<Item = U>,
    U: Into<Unit>,
{
    let mut packed = Packed::default();
    let mut cur = String::new();
    let mut cur_samples = 0u64;
    for unit in units {
        let Unit {
            text: unit,
            samples,
        } = unit.into();
        if unit.len() > max {
            packed.oversize += 1;
            packed.oversize_samples += samples;
            continue;
        }
        let needed = if cur.is_empty() {
            unit.len()
        } else {
            cur.len() + 1 + unit.len()
        };
        if needed > max {
            packed.payloads.push(std::mem::take(&mut cur));
            packed.samples.push(std::mem::take(&mut cur_samples));
        }
        if !cur.is_empty() {
            cur.push('\n');
        }
        cur.push_str(&unit);
        cur_samples += samples;
    }
    if !cur.is_empty() {
        packed.payloads.push(cur);
        packed.samples.push(cur_samples);
    }
    packed
}

/// Packs for TCP: a stream needs every line ended by `\n`; chunks of about `max` bytes keep
/// writes bounded. A unit longer than `max` gets a chunk of its own (a stream has no size limit).
pub fn pack_stream<I, U>(units: I, max: usize) -> Packed
where
    I: IntoIterator<Item = U>,
    U: Into<Unit>,
{
    let mut packed = Packed::default();
    let mut cur = String::new();
    let mut cur_samples = 0u64;
    for unit in units {
        let Unit {
            text: unit,
            samples,
        } = unit.into();
        if !cur.is_empty() && cur.len() + unit.len() + 1 > max {
            packed.payloads.push(std::mem::take(&mut cur));
            packed.samples.push(std::mem::take(&mut cur_samples));
        }
        cur.push_str(&unit);
        cur.push('\n');
        cur_samples += samples;
    }
    if !cur.is_empty() {
        packed.payloads.push(cur);
        packed.samples.push(cur_samples);
    }
    packed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(n: usize, len: usize) -> Vec<String> {
        (0..n).map(|i| format!("{:0>len$}", i % 10)).collect()
    }

    #[test]
    fn fills_to_the_byte_and_never_over() {
        // 10 units of 99 bytes: 99*10 + 9 separators = 999 bytes.
        let p = pack_datagrams(units(10, 99), 999);
        assert_eq!(p.payloads.len(), 1);
        assert_eq!(p.payloads[0].len(), 999);
        // One byte less: the tenth unit moves to a second datagram.
        let p = pack_datagrams(units(10, 99), 998);
        assert_eq!(p.payloads.len(), 2);
        assert_eq!(p.payloads[0].len(), 899);
        assert_eq!(p.payloads[1].len(), 99);
    }

    #[test]
    fn no_unit_split_no_datagram_over_the_limit() {
        let input: Vec<String> = (0..500).map(|i| format!("k6.m{i}:{}|c", i * 7)).collect();
        for max in [64, 100, 1432] {
            let p = pack_datagrams(input.clone(), max);
            assert!(p.payloads.iter().all(|d| d.len() <= max && !d.is_empty()));
            let back: Vec<String> = p
                .payloads
                .iter()
                .flat_map(|d| d.split('\n'))
                .map(String::from)
                .collect();
            assert_eq!(back, input, "max {max}");
        }
    }

    #[test]
    fn oversize_units_are_dropped_and_counted() {
        let input = vec!["a:1|c".to_string(), "x".repeat(200), "b:2|c".to_string()];
        let p = pack_datagrams(input, 100);
        assert_eq!(p.payloads, vec!["a:1|c\nb:2|c".to_string()]);
        assert_eq!(p.oversize, 1);
    }

    #[test]
    fn multi_line_units_stay_together() {
        let input = vec!["a:1|c".to_string(), "g:0|g\ng:-5|g".to_string()];
        let p = pack_datagrams(input, 12);
        assert_eq!(
            p.payloads,
            vec!["a:1|c".to_string(), "g:0|g\ng:-5|g".to_string()]
        );
    }

    #[test]
    fn sample_counts_follow_their_units() {
        let input = vec![
            ("a:1|c".to_string(), 3),
            ("x".repeat(200), 5),
            ("b:2|c".to_string(), 4),
            ("c:3|c".to_string(), 1),
        ];
        let p = pack_datagrams(input.clone(), 12);
        assert_eq!(p.payloads, vec!["a:1|c\nb:2|c", "c:3|c"]);
        assert_eq!(p.samples, vec![7, 1]);
        assert_eq!((p.oversize, p.oversize_samples), (1, 5));
        let p = pack_stream(input, 13);
        assert_eq!(p.samples.iter().sum::<u64>(), 13);
        assert_eq!(p.samples.len(), p.payloads.len());
    }

    #[test]
    fn stream_chunks_end_every_line() {
        let p = pack_stream(
            vec!["a:1|c".to_string(), "b:2|c".into(), "c:3|c".into()],
            12,
        );
        assert_eq!(
            p.payloads,
            vec!["a:1|c\nb:2|c\n".to_string(), "c:3|c\n".to_string()]
        );
    }
}
