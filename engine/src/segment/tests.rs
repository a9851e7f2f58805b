//! k6's own test values (`lib/execution_segment_test.go`) and property tests.

use rand::{Rng, SeedableRng};

use super::*;

fn seg(s: &str) -> ExecutionSegment {
    s.parse().unwrap()
}

fn seq(s: &str) -> ExecutionSegmentSequence {
    s.parse().unwrap()
}

fn r(n: i128, d: i128) -> Ratio {
    Ratio::new(n, d).unwrap()
}

#[test]
fn parses_k6_syntaxes() {
    let half_3q = ExecutionSegment::new(r(1, 2), r(3, 4)).unwrap();
    for ok in ["0.5:0.75", "1/2:3/4", "50%:75%", "2/4:75%"] {
        assert_eq!(seg(ok), half_3q, "{ok}");
        assert_eq!(seg(&seg(ok).to_string()), half_3q);
    }
    assert_eq!(seg("0:1"), ExecutionSegment::FULL);
    assert_eq!(seg(""), ExecutionSegment::FULL);
    assert_eq!(
        seg("75%"),
        ExecutionSegment::new(Ratio::ZERO, r(3, 4)).unwrap()
    );
    assert_eq!(ExecutionSegment::FULL.to_string(), "0:1");
    for bad in [
        "125%",
        "1a5%",
        "1a5",
        "1a5%:2/3",
        "125%:250%",
        "55%:50%",
        "1/0",
        ".",
        "0:",
    ] {
        assert!(bad.parse::<ExecutionSegment>().is_err(), "{bad}");
    }
}

#[test]
fn segment_scale() {
    let cases = [
        ("0:0.25", 1, 1),
        ("0.25:0.5", 0, 1),
        ("0.5:0.75", 1, 0),
        ("0.75:1", 0, 1),
    ];
    for (s, two, three) in cases {
        assert_eq!(seg(s).scale(2), two, "{s}");
        assert_eq!(seg(s).scale(3), three, "{s}");
    }
}

#[test]
fn tuple_scale() {
    let none = ExecutionSegmentSequence::default();
    let t = ExecutionTuple::new(seg("0.5"), &none).unwrap();
    assert_eq!((t.scale(2), t.scale(3)), (1, 2));
    let t = ExecutionTuple::new(seg("0.5:1.0"), &none).unwrap();
    assert_eq!((t.scale(2), t.scale(3)), (1, 1));
    let halves = seq("0,0.5,1");
    let t = ExecutionTuple::new(seg("0.5"), &halves).unwrap();
    assert_eq!((t.scale(2), t.scale(3)), (1, 2));
    let t = ExecutionTuple::new(seg("0.5:1.0"), &halves).unwrap();
    assert_eq!((t.scale(2), t.scale(3)), (1, 1));
}

#[test]
fn big_scale() {
    let t = ExecutionTuple::new(seg("0:7/20"), &seq("0,7/20,7/10,1")).unwrap();
    assert_eq!(t.scale(50), 18);
}

#[test]
fn sequences_parse() {
    assert!(seq("").is_empty());
    for bad in ["0.5", "1,1", "-0.5,1", "1/2,1/2", "1/2,1/3", "0,1,1/2"] {
        assert!(bad.parse::<ExecutionSegmentSequence>().is_err(), "{bad}");
    }
    let cases: &[(&str, &[&str], bool)] = &[
        ("0.5,1", &["1/2:1"], false),
        ("1/2,1", &["1/2:1"], true),
        ("1/3,2/3", &["1/3:2/3"], true),
        ("0,1/3,2/3", &["0:1/3", "1/3:2/3"], true),
        ("0,1/3,2/3,1", &["0:1/3", "1/3:2/3", "2/3:1"], true),
        ("0.5,0.7", &["1/2:7/10"], false),
        ("0.5,0.7,1", &["1/2:7/10", "7/10:1"], false),
        (
            "0,1/13,2/13,1/3,1/2,3/4,1",
            &[
                "0:1/13",
                "1/13:2/13",
                "2/13:1/3",
                "1/3:1/2",
                "1/2:3/4",
                "3/4:1",
            ],
            true,
        ),
    ];
    for (s, segs, reverse) in cases {
        let got = seq(s);
        let want: Vec<_> = segs.iter().map(|x| seg(x)).collect();
        assert_eq!(got.segments(), &want[..], "{s}");
        if *reverse {
            assert_eq!(&got.to_string(), s);
        }
    }
}

#[test]
fn sequence_lcd() {
    for (s, lcd) in [
        ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", 10),
        ("0,0.1,0.5,0.6,0.7,0.8,0.9,1", 10),
        ("0,0.2,0.5,0.6,0.7,0.8,0.9,1", 10),
        ("0,1/3,5/6", 6),
        ("0,1/3,4/7", 21),
    ] {
        assert_eq!(seq(s).lcd().unwrap(), lcd, "{s}");
    }
}

#[test]
fn striped_offsets() {
    let cases: &[(&str, &str, i64, &[i64], i64)] = &[
        ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", "0:0.3", 0, &[4, 3, 3], 10),
        ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", "0.3:0.5", 1, &[4, 6], 10),
        ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", "0.5:0.6", 2, &[10], 10),
        ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", "0.6:0.7", 3, &[10], 10),
        ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", "0.8:0.9", 8, &[10], 10),
        ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", "0.9:1", 9, &[10], 10),
        ("0,0.2,0.5,0.6,0.7,0.8,0.9,1", "0.9:1", 9, &[10], 10),
        ("0,0.2,0.5,0.6,0.7,0.8,0.9,1", "0:0.2", 1, &[4, 6], 10),
        ("0,0.2,0.5,0.6,0.7,0.8,0.9,1", "0.6:0.7", 3, &[10], 10),
        ("0,0.2,0.5", "0:0.2", 3, &[6, 4], 10),
        ("0,0.2,0.5", "0.2:0.5", 1, &[4, 2, 4], 10),
        ("0,2/5,4/5", "0:2/5", 0, &[3, 2], 5),
        ("0,2/5,4/5", "2/5:4/5", 1, &[3, 2], 5),
        ("", "0:0.2", 1, &[5], 5),
        ("", "0:1/5", 1, &[5], 5),
        ("", "0:2/10", 1, &[5], 5),
        ("", "0:0.4", 1, &[2, 3], 5),
        ("", "0:2/5", 1, &[2, 3], 5),
        ("", "2/5:4/5", 1, &[3, 2], 5),
        ("", "0:4/10", 1, &[2, 3], 5),
        ("", "1/10:5/10", 1, &[2, 2, 4, 2], 10),
    ];
    for (sq, sg, start, offsets, lcd) in cases {
        let t = ExecutionTuple::new(seg(sg), &seq(sq)).unwrap();
        assert_eq!(t.striped_offsets(), (*start, *offsets, *lcd), "{sq} {sg}");
    }
}

#[test]
fn resegment_by_value() {
    let t = ExecutionTuple::new(seg("0:1/3"), &seq("0,1/3,2/3,1")).unwrap();
    assert_eq!(
        t.resegment(20).unwrap().sequence().to_string(),
        "0,7/20,7/10,1"
    );
}

#[test]
fn segmented_index_strange() {
    let mut s = SegmentedIndex::raw(1, 7, vec![4, 3]);
    assert_eq!(s.advance(), (1, 2));
    assert_eq!(s.back(), (0, 0));
    assert_eq!(s.advance(), (1, 2));
    assert_eq!(s.advance(), (2, 6));
    assert_eq!(s.advance(), (3, 9));
    assert_eq!(s.back(), (2, 6));
    assert_eq!(s.back(), (1, 2));
    assert_eq!(s.back(), (0, 0));
    assert_eq!(s.advance(), (1, 2));
    for (v, want) in [
        (6, (2, 6)),
        (5, (1, 2)),
        (7, (2, 6)),
        (8, (2, 6)),
        (9, (3, 9)),
    ] {
        assert_eq!(s.go_to(v), want, "go_to({v})");
    }
}

#[test]
fn segmented_index_halves() {
    let mut a = SegmentedIndex::raw(0, 2, vec![2]);
    let mut b = SegmentedIndex::raw(1, 2, vec![2]);
    assert_eq!(
        [a.advance(), a.advance(), a.advance()],
        [(1, 1), (2, 3), (3, 5)]
    );
    assert_eq!(
        [b.advance(), b.advance(), b.advance()],
        [(1, 2), (2, 4), (3, 6)]
    );
}

#[test]
fn instances() {
    let t = ExecutionTuple::instance(1, 3).unwrap();
    assert_eq!(t.segment().to_string(), "1/3:2/3");
    assert_eq!(t.sequence().to_string(), "0,1/3,2/3,1");
    assert!(ExecutionTuple::instance(3, 3).is_err());
    assert!(ExecutionTuple::instance(0, 0).is_err());
    assert!(ExecutionTuple::instance(0, 1).unwrap().is_whole());
    assert!(matches!(
        ExecutionTuple::instance(0, u64::MAX),
        Err(SegmentError::LcdTooLarge(_))
    ));
    assert!(ExecutionTuple::instance(9_999, 10_000).is_ok());
    assert!(matches!(
        ExecutionTuple::instance(0, 10_001),
        Err(SegmentError::TooManySegments(10_001, 10_001))
    ));
}

#[test]
fn lcd_limit_is_an_error_not_a_table() {
    let err = ExecutionTuple::new(seg("0:1/1000003"), &seq("0,1/1000003,1/999983,1"));
    assert!(matches!(err, Err(SegmentError::LcdTooLarge(_))));
}

fn random_sequence(rng: &mut impl Rng, n: usize, m: i64) -> ExecutionSegmentSequence {
    let nums: Vec<i64> = (0..n).map(|_| rng.gen_range(1..=m)).collect();
    let den: i64 = nums.iter().sum();
    let mut from = Ratio::ZERO;
    let mut segs = Vec::new();
    for (i, n) in nums.iter().enumerate() {
        let to = if i + 1 == nums.len() {
            Ratio::ONE
        } else {
            from.checked_add(r(*n as i128, den as i128)).unwrap()
        };
        segs.push(ExecutionSegment::new(from, to).unwrap());
        from = to;
    }
    ExecutionSegmentSequence::new(segs).unwrap()
}

/// For random sequences: every segment's striped indices are disjoint from the others' and
/// together cover every index; shares of any value add up to it and never shrink as it
/// grows; walking a segment's index gives the indices the striping table says it owns.
#[test]
fn properties_of_random_sequences() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x6b36);
    for _ in 0..200 {
        let n = rng.gen_range(1..=10);
        let s = random_sequence(&mut rng, n, 60);
        let tuples: Vec<_> = s
            .segments()
            .iter()
            .map(|g| ExecutionTuple::new(*g, &s).unwrap())
            .collect();
        let lcd = s.lcd().unwrap();
        let span = 2 * lcd + 7;
        let mut owner = vec![usize::MAX; span as usize];
        for (k, t) in tuples.iter().enumerate() {
            let mut idx = t.segmented_index();
            let stripes = t.stripes();
            loop {
                let (local, global) = idx.advance();
                assert_eq!(stripes.global(local as u64 - 1), global as u64 - 1, "{s}");
                if global > span {
                    break;
                }
                let slot = &mut owner[(global - 1) as usize];
                assert_eq!(*slot, usize::MAX, "index {global} owned twice in {s}");
                *slot = k;
            }
        }
        assert!(owner.iter().all(|o| *o != usize::MAX), "a gap in {s}");
        let mut last = vec![0i64; tuples.len()];
        for value in 0..=span {
            let mut total = 0;
            for (k, t) in tuples.iter().enumerate() {
                let v = t.scale(value);
                assert!(v >= last[k], "{s}: share of {value} shrank");
                last[k] = v;
                let owned = owner[..value as usize].iter().filter(|o| **o == k).count();
                assert_eq!(v as usize, owned, "{s}: share of {value} for {k}");
                total += v;
            }
            assert_eq!(total, value, "{s}: shares of {value}");
        }
        let value = rng.gen_range(1..500);
        let shares: i64 = tuples
            .iter()
            .filter_map(|t| t.resegment(value).ok())
            .map(|t| {
                t.segment()
                    .length()
                    .checked_mul(Ratio::int(value))
                    .unwrap()
                    .numer()
            })
            .sum();
        assert_eq!(shares, value, "{s}: re-segmented by {value}");
    }
}

/// k6's `TestNewExecutionTuple`: scaling, then scaling after re-segmenting by a value (`None`
/// where k6 expects an error: the segment gets nothing of that value).
#[test]
fn new_execution_tuple() {
    type Scales = &'static [(i64, i64)];
    type NewScale = &'static [(i64, Option<Scales>)];
    let whole: (Scales, NewScale) = (
        &[(50, 50), (1, 1), (0, 0)],
        &[
            (50, Some(&[(50, 50), (1, 1), (0, 0)])),
            (1, Some(&[(50, 50), (1, 1), (0, 0)])),
            (0, None),
        ],
    );
    let cases: Vec<(&str, &str, Scales, NewScale)> = vec![
        ("", "", whole.0, whole.1),
        ("0:1", "", whole.0, whole.1),
        ("0:1", "0,1", whole.0, whole.1),
        (
            "0:1/3",
            "0,1/3,2/3,1",
            &[(50, 17), (3, 1), (2, 1), (1, 1), (0, 0)],
            &[
                (50, Some(&[(50, 17), (1, 1), (0, 0)])),
                (20, Some(&[(50, 18), (1, 1), (0, 0)])),
                (3, Some(&[(50, 17), (1, 1), (0, 0)])),
                (2, Some(&[(50, 25), (1, 1), (0, 0)])),
                (1, Some(&[(50, 50), (1, 1), (0, 0)])),
                (0, None),
            ],
        ),
        (
            "1/3:2/3",
            "0,1/3,2/3,1",
            &[(50, 17), (3, 1), (2, 1), (1, 0), (0, 0)],
            &[
                (50, Some(&[(50, 17), (1, 0), (0, 0)])),
                (20, Some(&[(50, 17), (1, 0), (0, 0)])),
                (3, Some(&[(50, 17), (1, 0), (0, 0)])),
                (2, Some(&[(50, 25), (1, 0), (0, 0)])),
                (1, None),
                (0, None),
            ],
        ),
        (
            "2/3:1",
            "0,1/3,2/3,1",
            &[(50, 16), (3, 1), (2, 0), (1, 0), (0, 0)],
            &[
                (50, Some(&[(50, 16), (1, 0), (0, 0)])),
                (20, Some(&[(50, 15), (1, 0), (0, 0)])),
                (3, Some(&[(50, 16), (1, 0), (0, 0)])),
                (2, None),
                (1, None),
                (0, None),
            ],
        ),
    ];
    for (sg, sq, scales, new_scales) in cases {
        let t = ExecutionTuple::new(seg(sg), &seq(sq)).unwrap();
        for (v, want) in scales {
            assert_eq!(t.scale(*v), *want, "{t}: scale({v})");
        }
        for (value, expect) in new_scales {
            let got = t.resegment(*value);
            match expect {
                None => assert!(got.is_err(), "{t}: resegment({value})"),
                Some(scales) => {
                    let n = got.unwrap();
                    for (v, want) in *scales {
                        assert_eq!(n.scale(*v), *want, "{t} by {value}: scale({v})");
                    }
                }
            }
        }
    }
}
