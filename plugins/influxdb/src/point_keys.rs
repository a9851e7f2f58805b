//! Keeps points from overwriting each other on the server.
//!
//! InfluxDB keys a point by measurement, tag set and timestamp: a second point with the same key
//! replaces the first, without an error. Two VUs can end an iteration in the same nanosecond, and
//! at a coarse precision every two points of a series within one unit collide, so the server
//! would silently hold fewer points than were sent (k6 loses them the same way). This module
//! remembers the keys written in the last few seconds of sample time and:
//!
//! - at ns and µs precision moves a colliding point later by one unit until its key is free,
//!   never by 1 ms or more (in practice by a few ns: at most as many points share a key as
//!   there are VUs);
//! - at ms and coarser precision, where moving would visibly shift points, reports the
//!   collision so the output can count the point as lost.
//!
//! A batch handed back to the host for a retry is encoded again later: [`PointKeys::rollback`]
//! forgets the keys it claimed, so the second encoding picks the same timestamps and the points
//! of a request that did go are overwritten by themselves, not written twice.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

/// How much sample time one generation of keys covers. Samples reach the output out of order
/// by at most a VU's flush age plus the host's batching (well under a second), so two
/// generations of this span catch every collision of points in flight together.
const GENERATION_NS: i64 = 2_000_000_000;

/// The largest shift, in ns: a point never moves by this much or more.
const MAX_SHIFT_NS: i64 = 1_000_000;

/// What became of a point's timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Write it at this timestamp (the one asked for, or moved to a free one).
    At(i64),
    /// The key is taken and the precision is too coarse to move it: the server will keep only
    /// one of the points.
    Overwrites(i64),
}

#[derive(Debug, Clone)]
pub struct PointKeys {
    /// Units a point may move: 0 at ms and coarser precision.
    max_shift: i64,
    generation: i64,
    current: HashSet<u64>,
    previous: HashSet<u64>,
    current_start: i64,
    /// Keys claimed since [`PointKeys::begin`], for [`PointKeys::rollback`].
    journal: Vec<u64>,
}

impl PointKeys {
    pub fn new(ns_per_unit: i64) -> Self {
        let ns_per_unit = ns_per_unit.max(1);
        Self {
            max_shift: ((MAX_SHIFT_NS - 1) / ns_per_unit).max(0),
            generation: (GENERATION_NS / ns_per_unit).max(1),
            current: HashSet::new(),
            previous: HashSet::new(),
            current_start: i64::MIN,
            journal: Vec::new(),
        }
    }

    /// The identity of a series as InfluxDB sees it: the line's measurement and tags.
    pub fn series_id(head: &str) -> u64 {
        let mut h = DefaultHasher::new();
        head.hash(&mut h);
        h.finish()
    }

    /// Starts a batch: what is claimed from now on can be forgotten with `rollback`.
    pub fn begin(&mut self) {
        self.journal.clear();
    }

    /// Forgets the keys claimed since `begin`: the batch will be encoded again.
    pub fn rollback(&mut self) {
        for key in self.journal.drain(..) {
            self.current.remove(&key);
            self.previous.remove(&key);
        }
    }

    /// Claims `ts` (in precision units) for a point of `series`.
    pub fn claim(&mut self, series: u64, ts: i64) -> Claim {
        self.rotate(ts);
        let mut at = ts;
        for _ in 0..=self.max_shift {
            let key = key(series, at);
            if !self.current.contains(&key) && !self.previous.contains(&key) {
                self.current.insert(key);
                self.journal.push(key);
                return Claim::At(at);
            }
            at = at.saturating_add(1);
        }
        Claim::Overwrites(ts)
    }

    fn rotate(&mut self, ts: i64) {
        if self.current_start == i64::MIN {
            self.current_start = ts;
            return;
        }
        let age = ts.saturating_sub(self.current_start);
        if age < self.generation {
            return;
        }
        self.previous = std::mem::take(&mut self.current);
        if age >= self.generation.saturating_mul(2) {
            // Nothing in flight is that old any more.
            self.previous.clear();
        }
        self.current_start = ts;
    }
}

fn key(series: u64, ts: i64) -> u64 {
    // One u64 per point keeps the sets small; a false match of two different keys only moves
    // a point by one unit.
    series ^ (ts as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: i64 = 1;
    const MS: i64 = 1_000_000;

    #[test]
    fn points_of_one_series_in_one_nanosecond_move_apart() {
        let mut k = PointKeys::new(NS);
        assert_eq!(k.claim(1, 100), Claim::At(100));
        assert_eq!(k.claim(1, 100), Claim::At(101));
        assert_eq!(k.claim(1, 100), Claim::At(102));
        assert_eq!(k.claim(1, 101), Claim::At(103));
        // Another series is keyed apart.
        assert_eq!(k.claim(2, 100), Claim::At(100));
    }

    #[test]
    fn at_millisecond_precision_a_collision_is_reported_not_moved() {
        let mut k = PointKeys::new(MS);
        assert_eq!(k.claim(1, 5), Claim::At(5));
        assert_eq!(k.claim(1, 5), Claim::Overwrites(5));
        assert_eq!(k.claim(1, 6), Claim::At(6));
    }

    #[test]
    fn microseconds_move_by_less_than_a_millisecond() {
        let mut k = PointKeys::new(1_000);
        for i in 0..1000 {
            assert_eq!(k.claim(7, 0), Claim::At(i));
        }
        assert_eq!(k.claim(7, 0), Claim::Overwrites(0));
    }

    #[test]
    fn a_retried_batch_gets_the_same_timestamps_again() {
        let mut k = PointKeys::new(NS);
        k.claim(1, 10);
        k.begin();
        let first: Vec<Claim> = [10, 10, 11].iter().map(|&t| k.claim(1, t)).collect();
        k.rollback();
        k.begin();
        let again: Vec<Claim> = [10, 10, 11].iter().map(|&t| k.claim(1, t)).collect();
        assert_eq!(first, again);
        assert_eq!(first, [Claim::At(11), Claim::At(12), Claim::At(13)]);
    }

    #[test]
    fn late_points_are_still_checked_within_two_generations() {
        let mut k = PointKeys::new(NS);
        assert_eq!(k.claim(1, 0), Claim::At(0));
        assert_eq!(k.claim(1, GENERATION_NS + 5), Claim::At(GENERATION_NS + 5));
        // A point that arrives late, for a key of the previous generation.
        assert_eq!(k.claim(1, 0), Claim::At(1));
        // Far later: old generations are forgotten, memory stays bounded.
        k.claim(1, 10 * GENERATION_NS);
        assert!(k.previous.is_empty());
        assert_eq!(k.current.len(), 1);
    }
}
