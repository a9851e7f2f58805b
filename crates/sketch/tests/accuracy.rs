//! Property tests of the documented bound: random distributions, layouts and splits (seeded, so
//! a failure names the seed that reproduces it).

use loadrun_sketch::{percentile_of_sorted, scale, Layout, Sketch};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const QS: [f64; 12] = [
    0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0,
];

/// Values shaped like what loadrun records: log-uniform latencies, a few modes, some zeros and
/// negatives, all over a random range.
fn values(rng: &mut StdRng) -> Vec<f64> {
    let n = rng.gen_range(2..8_000);
    let lo: f64 = rng.gen_range(-9.0..3.0);
    let decades: f64 = rng.gen_range(0.01..12.0);
    let negative_share: f64 = if rng.gen_bool(0.3) {
        rng.gen_range(0.0..0.5)
    } else {
        0.0
    };
    let zero_share: f64 = if rng.gen_bool(0.2) { 0.05 } else { 0.0 };
    let modes: Vec<f64> = (0..rng.gen_range(1..4))
        .map(|_| 10f64.powf(lo + rng.gen_range(0.0..decades)))
        .collect();
    (0..n)
        .map(|_| {
            let u: f64 = rng.gen();
            let v = if u < zero_share {
                0.0
            } else if rng.gen_bool(0.5) {
                modes[rng.gen_range(0..modes.len())] * rng.gen_range(0.9..1.1)
            } else {
                10f64.powf(lo + rng.gen_range(0.0..decades))
            };
            if rng.gen::<f64>() < negative_share {
                -v
            } else {
                v
            }
        })
        .collect()
}

fn layout(rng: &mut StdRng) -> Layout {
    Layout {
        max_scale: rng.gen_range(0..=12),
        max_buckets: rng.gen_range(160..=8192),
        zero_threshold: if rng.gen_bool(0.5) { 0.0 } else { 1e-9 },
    }
}

/// The bound holds where [`Sketch`] says it does: both neighbouring ranks of one sign, outside
/// the zero bucket.
fn assert_within(sketch: &Sketch, sorted: &[f64], seed: u64, what: &str) {
    let bound = sketch.relative_accuracy() * (1.0 + 1e-9) + 1e-12;
    let zt = sketch.zero_threshold();
    let n = sorted.len();
    for q in QS {
        let r = q * (n - 1) as f64;
        let (a, b) = (sorted[r.floor() as usize], sorted[r.ceil() as usize]);
        let want = percentile_of_sorted(sorted, q);
        let got = sketch.percentile(q);
        if (a > zt && b > zt) || (a < -zt && b < -zt) {
            assert!(
                ((got - want) / want).abs() <= bound,
                "seed {seed} {what}: p({q}) = {got}, exact {want}, bound {bound} at scale {}",
                sketch.scale()
            );
        } else if a.abs() <= zt && b.abs() <= zt {
            assert!(
                (got - want).abs() <= zt,
                "seed {seed} {what}: p({q}) {got} vs {want}"
            );
        }
    }
    assert_eq!(
        sketch.percentile(0.0),
        sorted[0],
        "seed {seed}: min is exact"
    );
    assert_eq!(
        sketch.percentile(1.0),
        sorted[n - 1],
        "seed {seed}: max is exact"
    );
}

#[test]
fn percentiles_are_within_the_bound_of_the_scale() {
    for seed in 0..120u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut vs = values(&mut rng);
        let layout = layout(&mut rng);
        let mut s = Sketch::new(layout);
        for v in &vs {
            s.add(*v);
        }
        assert!(
            s.positive().counts.len() <= layout.max_buckets,
            "seed {seed}"
        );
        assert!(
            s.negative().counts.len() <= layout.max_buckets,
            "seed {seed}"
        );
        assert_eq!(s.count(), vs.len() as u64);
        assert_eq!(s.check(), Ok(()), "seed {seed}");
        vs.sort_by(f64::total_cmp);
        assert_within(&s, &vs, seed, "one sketch");
    }
}

#[test]
fn merged_sketches_hold_what_one_sketch_of_everything_holds() {
    for seed in 1000..1080u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut vs = values(&mut rng);
        let base = layout(&mut rng);
        let parts = rng.gen_range(2..6);
        // Each instance may have dropped to its own scale; the merge is at the coarsest.
        let mut sketches: Vec<Sketch> = (0..parts)
            .map(|_| {
                Sketch::new(Layout {
                    max_scale: base.max_scale - rng.gen_range(0..3),
                    ..base
                })
            })
            .collect();
        let mut whole = Sketch::new(base);
        for v in &vs {
            sketches[rng.gen_range(0..parts)].add(*v);
            whole.add(*v);
        }
        let mut merged = Sketch::new(base);
        for s in &sketches {
            merged.merge(s);
        }
        assert_eq!(merged.count(), whole.count(), "seed {seed}");
        assert_eq!((merged.min(), merged.max()), (whole.min(), whole.max()));
        assert_eq!(merged.check(), Ok(()), "seed {seed}");
        // Bucket for bucket, the whole's sketch at the merge's scale.
        let scale = merged.scale().min(whole.scale());
        let (_, mp, mn) = merged.buckets_at(scale);
        let (_, wp, wn) = whole.buckets_at(scale);
        assert_eq!(
            (mp.iter().collect::<Vec<_>>(), mn.iter().collect::<Vec<_>>()),
            (wp.iter().collect::<Vec<_>>(), wn.iter().collect::<Vec<_>>()),
            "seed {seed}"
        );
        vs.sort_by(f64::total_cmp);
        assert_within(&merged, &vs, seed, "merged");
    }
}

#[test]
fn a_wide_range_lowers_the_scale_instead_of_growing() {
    let mut s = Sketch::new(Layout {
        max_scale: 10,
        max_buckets: 1024,
        zero_threshold: 0.0,
    });
    let mut v = 1e-300;
    while v < 1e300 {
        s.add(v);
        s.add(-v);
        v *= 1.01;
    }
    assert!(s.scale() < 10);
    assert!(s.positive().counts.len() <= 1024 && s.negative().counts.len() <= 1024);
    assert!(s.relative_accuracy() > scale::relative_accuracy(10));
    assert_eq!(s.check(), Ok(()));
}

#[test]
fn state_round_trips_and_bad_state_is_named() {
    let mut s = Sketch::new(Layout {
        max_scale: 8,
        max_buckets: 4096,
        zero_threshold: 1e-6,
    });
    for v in [0.0, 1.5, 2.5, -3.0, 1000.0] {
        s.add(v);
    }
    let text = serde_json::to_string(&s).unwrap_or_default();
    let back: Sketch = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(back, s);
    assert_eq!(back.check(), Ok(()));

    let count_off = text.replace("\"count\":5", "\"count\":6");
    let bad: Sketch = serde_json::from_str(&count_off).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        bad.check().map_err(|e| e.to_string()),
        Err("sketch count 6 but its buckets hold 5".to_string())
    );
    let scale_off = text.replace("\"scale\":8", "\"scale\":40");
    let bad: Sketch = serde_json::from_str(&scale_off).unwrap_or_else(|e| panic!("{e}"));
    assert!(bad.check().is_err());
    assert!(serde_json::from_str::<Sketch>(&text.replace("\"sum\"", "\"total\"")).is_err());
}

#[test]
fn empty_and_single_sketches_answer_like_k6() {
    let layout = Layout {
        max_scale: 6,
        max_buckets: 160,
        zero_threshold: 0.0,
    };
    let mut s = Sketch::new(layout);
    assert_eq!(
        (s.percentile(0.5), s.min(), s.max(), s.avg()),
        (0.0, 0.0, 0.0, 0.0)
    );
    assert!(!s.add(f64::NAN) && !s.add(f64::INFINITY));
    s.add(12.5);
    assert_eq!(s.percentile(0.99), 12.5);
    s.add(10.0);
    assert!((s.percentile(0.5) - 11.25).abs() < 1e-12);
    assert_eq!(s.count(), 2);
}
