//! A log-linear latency histogram in microseconds: exact below 128 µs, then 64
//! sub-buckets per power of two, so any quantile is within 1/64 (1.6 %) of the true
//! value. Memory is fixed whatever the number of samples.

const LINEAR: u64 = 128;
const SUB_BITS: u32 = 6;
const SUB: usize = 1 << SUB_BITS;
/// Values are clamped to 2^40 µs (12.7 days).
const MAX_EXP: u32 = 40;
pub const BUCKETS: usize = LINEAR as usize + (MAX_EXP as usize - 6) * SUB;

#[derive(Clone, Debug)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    sum: f64,
    lo: usize,
    hi: usize,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

#[inline]
fn index(v: u64) -> usize {
    if v < LINEAR {
        return v as usize;
    }
    let v = v.min((1u64 << MAX_EXP) - 1);
    let e = 63 - v.leading_zeros(); // ≥ 7
    let sub = ((v >> (e - SUB_BITS)) as usize) & (SUB - 1);
    LINEAR as usize + (e as usize - 7) * SUB + sub
}

/// Lower bound and width of a bucket.
fn bounds(idx: usize) -> (f64, f64) {
    if idx < LINEAR as usize {
        return (idx as f64, 1.0);
    }
    let o = (idx - LINEAR as usize) / SUB;
    let sub = (idx - LINEAR as usize) % SUB;
    let e = o as u32 + 7;
    let width = (1u64 << (e - SUB_BITS)) as f64;
    (((SUB + sub) as u64) as f64 * width, width)
}

impl Histogram {
    pub fn new() -> Histogram {
        Histogram { counts: vec![0; BUCKETS], total: 0, sum: 0.0, lo: usize::MAX, hi: 0 }
    }

    #[inline]
    pub fn record(&mut self, micros: u64) {
        let i = index(micros);
        self.counts[i] += 1;
        self.total += 1;
        self.sum += micros as f64;
        self.lo = self.lo.min(i);
        self.hi = self.hi.max(i);
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    /// Exact mean of the recorded values, µs.
    pub fn mean(&self) -> Option<f64> {
        (self.total > 0).then(|| self.sum / self.total as f64)
    }

    /// The `q`-quantile (nearest rank, bucket midpoint), µs.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut acc = 0;
        for i in self.lo..=self.hi {
            acc += self.counts[i];
            if acc >= rank {
                let (lo, w) = bounds(i);
                return Some(if w <= 1.0 { lo } else { lo + w / 2.0 });
            }
        }
        None
    }

    /// Several quantiles in one pass; `qs` must be increasing.
    pub fn quantiles<const N: usize>(&self, qs: [f64; N]) -> [Option<f64>; N] {
        let mut out = [None; N];
        if self.total == 0 {
            return out;
        }
        let ranks = qs.map(|q| ((q * self.total as f64).ceil() as u64).clamp(1, self.total));
        let (mut acc, mut k) = (0, 0);
        for i in self.lo..=self.hi {
            acc += self.counts[i];
            while k < N && acc >= ranks[k] {
                let (lo, w) = bounds(i);
                out[k] = Some(if w <= 1.0 { lo } else { lo + w / 2.0 });
                k += 1;
            }
            if k == N {
                break;
            }
        }
        out
    }

    /// Empties the histogram in time proportional to the used range.
    pub fn clear(&mut self) {
        if self.total > 0 {
            self.counts[self.lo..=self.hi].fill(0);
        }
        self.total = 0;
        self.sum = 0.0;
        self.lo = usize::MAX;
        self.hi = 0;
    }

    pub fn merge(&mut self, o: &Histogram) {
        if o.total == 0 {
            return;
        }
        for i in o.lo..=o.hi {
            self.counts[i] += o.counts[i];
        }
        self.total += o.total;
        self.sum += o.sum;
        self.lo = self.lo.min(o.lo);
        self.hi = self.hi.max(o.hi);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_cover_values() {
        let mut last = 0;
        for v in [0u64, 1, 127, 128, 129, 255, 256, 1000, 1 << 20, (1 << 40) - 1] {
            let i = index(v);
            assert!(i >= last && i < BUCKETS);
            let (lo, w) = bounds(i);
            assert!(v as f64 >= lo && (v as f64) < lo + w, "{v} not in bucket {i}: {lo}+{w}");
            last = i;
        }
    }

    /// Quantiles of 1..=100000 µs: the q-quantile is q·100000 within the 1/64 bucket width.
    #[test]
    fn quantiles_within_bucket_error() {
        let mut h = Histogram::new();
        for v in 1..=100_000u64 {
            h.record(v);
        }
        let all = h.quantiles([0.5, 0.9, 0.99]);
        for (i, q) in [0.5, 0.9, 0.99].into_iter().enumerate() {
            assert_eq!(all[i], h.quantile(q));
            let got = h.quantile(q).unwrap();
            assert!((got / (q * 100_000.0) - 1.0).abs() < 1.0 / 64.0, "q={q}: {got}");
        }
        assert_eq!(h.mean(), Some(50_000.5));
    }
}
