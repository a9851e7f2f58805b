//! Exact rationals small enough for segment arithmetic: numerator and denominator fit in
//! `i64`, every operation is carried out in `i128` and reduced, so nothing rounds.

use std::cmp::Ordering;
use std::fmt;

use super::SegmentError;

/// A reduced fraction with a positive denominator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ratio {
    num: i64,
    den: i64,
}

pub(crate) fn gcd(mut a: i128, mut b: i128) -> i128 {
    a = a.abs();
    b = b.abs();
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Ratio {
    pub const ZERO: Ratio = Ratio { num: 0, den: 1 };
    pub const ONE: Ratio = Ratio { num: 1, den: 1 };

    /// `num/den` reduced; fails on a zero denominator or a result beyond `i64`.
    pub fn new(num: i128, den: i128) -> Result<Ratio, SegmentError> {
        if den == 0 {
            return Err(SegmentError::ZeroDenominator);
        }
        let g = gcd(num, den).max(1);
        let (mut n, mut d) = (num / g, den / g);
        if d < 0 {
            n = -n;
            d = -d;
        }
        match (i64::try_from(n), i64::try_from(d)) {
            (Ok(num), Ok(den)) => Ok(Ratio { num, den }),
            _ => Err(SegmentError::TooPrecise),
        }
    }

    pub fn int(v: i64) -> Ratio {
        Ratio { num: v, den: 1 }
    }

    pub fn numer(self) -> i64 {
        self.num
    }

    pub fn denom(self) -> i64 {
        self.den
    }

    pub fn checked_add(self, o: Ratio) -> Result<Ratio, SegmentError> {
        let (a, b, c, d) = (
            self.num as i128,
            self.den as i128,
            o.num as i128,
            o.den as i128,
        );
        Ratio::new(a * d + c * b, b * d)
    }

    pub fn checked_sub(self, o: Ratio) -> Result<Ratio, SegmentError> {
        self.checked_add(Ratio {
            num: -o.num,
            den: o.den,
        })
    }

    pub fn checked_mul(self, o: Ratio) -> Result<Ratio, SegmentError> {
        Ratio::new(
            self.num as i128 * o.num as i128,
            self.den as i128 * o.den as i128,
        )
    }

    /// `self * value` rounded half up, as k6's `roundUp` (values here are never negative).
    pub(crate) fn mul_round(self, value: i64) -> i128 {
        let n = self.num as i128 * value as i128;
        let d = self.den as i128;
        let (q, r) = (n.div_euclid(d), n.rem_euclid(d));
        if 2 * r >= d {
            q + 1
        } else {
            q
        }
    }

    pub fn to_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }
}

impl Ord for Ratio {
    fn cmp(&self, o: &Self) -> Ordering {
        (self.num as i128 * o.den as i128).cmp(&(o.num as i128 * self.den as i128))
    }
}

impl PartialOrd for Ratio {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Go's `RatString`: `n` for integers, `n/d` otherwise.
impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den == 1 {
            write!(f, "{}", self.num)
        } else {
            write!(f, "{}/{}", self.num, self.den)
        }
    }
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn parse_int(s: &str) -> Option<i128> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if !digits(body) || body.len() > 18 {
        return None;
    }
    let v: i128 = body.parse().ok()?;
    Some(if neg { -v } else { v })
}

/// k6's `stringToRat`: `N%` (an integer percentage), a fraction `a/b`, or a decimal.
pub fn parse_ratio(s: &str) -> Result<Ratio, SegmentError> {
    let bad = || SegmentError::BadValue(s.to_string());
    if let Some(pct) = s.strip_suffix('%') {
        let n = parse_int(pct).ok_or_else(|| SegmentError::BadPercentage(s.to_string()))?;
        return Ratio::new(n, 100);
    }
    if let Some((n, d)) = s.split_once('/') {
        let n = parse_int(n).ok_or_else(bad)?;
        let d = parse_int(d).ok_or_else(bad)?;
        if d == 0 {
            return Err(bad());
        }
        return Ratio::new(n, d);
    }
    let (int_part, frac) = s.split_once('.').unwrap_or((s, ""));
    let (neg, int_body) = match int_part.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, int_part.strip_prefix('+').unwrap_or(int_part)),
    };
    if (int_body.is_empty() && frac.is_empty())
        || !(int_body.is_empty() || digits(int_body))
        || !(frac.is_empty() || digits(frac))
    {
        return Err(bad());
    }
    if int_body.len() + frac.len() > 18 {
        return Err(SegmentError::TooPrecise);
    }
    let mut num: i128 = 0;
    for b in int_body.bytes().chain(frac.bytes()) {
        num = num * 10 + i128::from(b - b'0');
    }
    let den = 10i128.pow(frac.len() as u32);
    Ratio::new(if neg { -num } else { num }, den)
}
