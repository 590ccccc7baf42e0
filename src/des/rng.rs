//! Keyed, counter-based randomness.
//!
//! Each source of randomness is a [`Stream`] named by a constant and derived from the
//! scenario seed. A draw is a pure function of `(seed, stream, key)`: the same request
//! id gets the same service-time and error draw in every run of the same seed,
//! whatever the strategy did before it ("common random numbers"). For each key the
//! stream hands out a small generator, [`KeyRng`], that implements `rand`'s `Rng`, so
//! every distribution is drawn with `rand_distr` (`Exp1`, `LogNormal`, ...) and `rand`
//! (`random`, `random_range`). The mixer is the SplitMix64 output function (Steele, Lea &
//! Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014), fixed by this
//! code and so portable across platforms and releases.

/// The SplitMix64 finaliser: a bijective 64-bit mixer.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// Names of the random streams. Adding a stream never changes the draws of another.
pub mod streams {
    pub const ARRIVALS: u64 = 1;
    pub const USER: u64 = 2;
    pub const SERVICE: u64 = 3;
    pub const ERROR: u64 = 4;
    pub const ROUTE_VERSION: u64 = 5;
    pub const ROUTE_INSTANCE: u64 = 6;
    pub const SEGMENT: u64 = 7;
    pub const CRASH: u64 = 8;
    pub const FAULT_PICK: u64 = 9;
    pub const STICKY_USER: u64 = 10;
    pub const DNS: u64 = 11;
    pub const MIRROR: u64 = 12;
    pub const CONVERSION: u64 = 13;
    pub const VARIANT: u64 = 14;
    pub const SAMPLE: u64 = 15;
    pub const FAULT_DELAY: u64 = 16;
    pub const FAULT_TIMES: u64 = 17;
    pub const FAULT_LEAK: u64 = 18;
    /// Continuous deployment (`continuous`): a release's commit gap, pipeline delay,
    /// badness, defect and the seed of its rollout window, each keyed by release index.
    pub const RELEASE_GAP: u64 = 19;
    pub const RELEASE_PIPELINE: u64 = 20;
    pub const RELEASE_BAD: u64 = 21;
    pub const RELEASE_DEFECT: u64 = 22;
    pub const RELEASE_WINDOW: u64 = 23;
}

/// One keyed random stream.
#[derive(Clone, Copy, Debug)]
pub struct Stream {
    base: u64,
}

impl Stream {
    pub fn new(seed: u64, stream: u64) -> Stream {
        Stream { base: mix64(mix64(seed ^ 0x6a09_e667_f3bc_c909).wrapping_add(stream.wrapping_mul(GOLDEN))) }
    }

    /// 64 random bits for `key`: the first word of [`Stream::rng`]`(key)`.
    #[inline]
    pub fn bits(&self, key: u64) -> u64 {
        mix64(self.base.wrapping_add(key.wrapping_mul(GOLDEN)))
    }

    /// The generator of `key`'s draws, for `rand_distr`'s distributions and `rand`'s
    /// `random`/`random_range`.
    #[inline]
    pub fn rng(&self, key: u64) -> KeyRng {
        KeyRng::new(self.bits(key))
    }

    /// The generator of the `sub`-th family of draws of `key` (e.g. one per fault of a
    /// request), independent of [`Stream::rng`]`(key)` and of every other `sub`.
    #[inline]
    pub fn rng2(&self, key: u64, sub: u64) -> KeyRng {
        KeyRng::new(mix64(self.bits(key) ^ sub.wrapping_mul(0xd1b5_4a32_d192_ed03)))
    }
}

/// The small generator a [`Stream`] hands out per key: a `rand` generator, so every
/// distribution is drawn by `rand_distr`.
///
/// Its words are `x₀ = first`, then SplitMix64 seeded with `x₀`: `xₙ = mix64(x₀ + n·φ)`
/// with `φ = 0x9e3779b97f4a7c15` (Steele, Lea & Flood 2014). The algorithm is fixed by
/// this code rather than borrowed from `StdRng`/`SmallRng`, whose algorithms `rand` may
/// change between releases: a scenario's draws are the same on every platform and
/// release. The first word being the key's own bits keeps the common case — one draw per
/// key — at one mix; most `rand_distr` samplers (`Exp1`, `StandardNormal`,
/// `StandardUniform` for `f64`) take one word on their fast path.
#[derive(Clone, Debug)]
pub struct KeyRng {
    first: u64,
    n: u64,
}

impl KeyRng {
    #[inline]
    pub fn new(first: u64) -> KeyRng {
        KeyRng { first, n: 0 }
    }
}

impl rand::TryRng for KeyRng {
    type Error = core::convert::Infallible;

    #[inline]
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        // The high half: the better-mixed bits of the word.
        Ok((self.try_next_u64()? >> 32) as u32)
    }

    #[inline(always)]
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let n = self.n;
        self.n += 1;
        Ok(if n == 0 { self.first } else { mix64(self.first.wrapping_add(n.wrapping_mul(GOLDEN))) })
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        rand::rand_core::utils::fill_bytes_via_next_word(dst, || self.try_next_u64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, RngExt};
    use rand_distr::{Distribution, Exp1};
    use statrs::distribution::{ChiSquared, ContinuousCDF};

    /// The 0.1 % critical value of chi-square with `df` degrees of freedom.
    fn chi_critical(df: f64) -> f64 {
        ChiSquared::new(df).map(|c| c.inverse_cdf(0.999)).unwrap_or(f64::NAN)
    }

    /// Pearson's statistic of counts against equal expected counts.
    fn chi_square(counts: &[u64]) -> f64 {
        let n: u64 = counts.iter().sum();
        let e = n as f64 / counts.len() as f64;
        counts.iter().map(|&b| (b as f64 - e).powi(2) / e).sum()
    }

    #[test]
    fn draws_are_pure_functions_of_seed_stream_and_key() {
        let a = Stream::new(42, streams::SERVICE);
        let b = Stream::new(42, streams::SERVICE);
        let c = Stream::new(42, streams::ERROR);
        let d = Stream::new(43, streams::SERVICE);
        assert_eq!(a.bits(7), b.bits(7));
        assert_ne!(a.bits(7), c.bits(7));
        assert_ne!(a.bits(7), d.bits(7));
        assert_ne!(a.bits(7), a.bits(8));
        let words = |s: &Stream| -> Vec<u64> {
            let mut r = s.rng(7);
            (0..4).map(|_| r.next_u64()).collect()
        };
        assert_eq!(words(&a), words(&b));
        assert_eq!(words(&a)[0], a.bits(7), "the first word is the key's bits");
        assert_ne!(a.rng2(7, 0).next_u64(), a.rng2(7, 1).next_u64());
    }

    /// Uniform draws from the first four words of 10^6 keys: mean 1/2 and variance 1/12
    /// within 5 standard errors, and ten equal buckets within chi-square's 0.1 % critical
    /// value (9 degrees of freedom).
    #[test]
    fn uniform_draws_are_uniform() {
        let s = Stream::new(1, streams::USER);
        let n = 1_000_000u64;
        for word in 0..4 {
            let (mut sum, mut sq) = (0.0, 0.0);
            let mut buckets = [0u64; 10];
            for k in 0..n {
                let mut r = s.rng(k);
                for _ in 0..word {
                    r.next_u64();
                }
                let u: f64 = r.random();
                sum += u;
                sq += u * u;
                buckets[(u * 10.0) as usize] += 1;
            }
            let mean = sum / n as f64;
            let var = sq / n as f64 - mean * mean;
            assert!((mean - 0.5).abs() < 5.0 * (1.0f64 / 12.0 / n as f64).sqrt(), "word {word}: mean {mean}");
            assert!((var - 1.0 / 12.0).abs() < 1e-3, "word {word}: variance {var}");
            let chi = chi_square(&buckets);
            assert!(chi < chi_critical(9.0), "word {word}: chi-square {chi}");
        }
    }

    /// Successive words of one key, neighbouring keys and the `rng2` families are
    /// independent: pairs of uniforms fall into a 10×10 grid evenly (chi-square with 99
    /// degrees of freedom, below its 0.1 % critical value, over 10^6 keys).
    #[test]
    fn words_keys_and_families_are_independent() {
        let s = Stream::new(5, streams::ERROR);
        let n = 1_000_000u64;
        type Pair<'a> = Box<dyn Fn(u64) -> (f64, f64) + 'a>;
        let pairs: [(&str, Pair); 4] = [
            (
                "words 0 and 1",
                Box::new(|k| {
                    let mut r = s.rng(k);
                    (r.random(), r.random())
                }),
            ),
            ("keys k and k+1", Box::new(|k| (s.rng(k).random(), s.rng(k + 1).random()))),
            (
                "word 1 of k, word 0 of k+1",
                Box::new(|k| {
                    let mut r = s.rng(k);
                    r.next_u64();
                    (r.random(), s.rng(k + 1).random())
                }),
            ),
            ("rng and rng2", Box::new(|k| (s.rng(k).random(), s.rng2(k, 0).random()))),
        ];
        for (name, pair) in pairs.iter() {
            let mut grid = [0u64; 100];
            for k in 0..n {
                let (a, b) = pair(k);
                grid[(a * 10.0) as usize * 10 + (b * 10.0) as usize] += 1;
            }
            let chi = chi_square(&grid);
            assert!(chi < chi_critical(99.0), "{name}: chi-square {chi}");
        }
    }

    /// `rand_distr`'s exponential (whose rare slow path and tail take further words)
    /// over the keyed generators, against Exp(1) on 10^6 keys: the mean within 5 standard
    /// errors (σ = 1), the Kolmogorov–Smirnov distance below its 0.1 % critical value
    /// 1.95/√n, 100 equiprobable bins within chi-square's 0.1 % critical value, and the
    /// tails beyond 7.7 (where its table's base strip ends) and 10 within 5 binomial
    /// standard deviations of e^−x.
    #[test]
    fn keyed_exponentials_are_exponential() {
        let s = Stream::new(3, streams::ARRIVALS);
        let n = 1_000_000usize;
        let mut v: Vec<f64> = (0..n as u64).map(|k| Exp1.sample(&mut s.rng(k))).collect();
        let mean = v.iter().sum::<f64>() / n as f64;
        assert!((mean - 1.0).abs() < 5.0 / (n as f64).sqrt(), "mean {mean}");
        let mut bins = [0u64; 100];
        for &x in &v {
            // F(x) = 1 − e^−x is uniform under the hypothesis.
            bins[((1.0 - (-x).exp()) * 100.0).min(99.0) as usize] += 1;
        }
        let chi = chi_square(&bins);
        assert!(chi < chi_critical(99.0), "chi-square {chi}");
        v.sort_by(f64::total_cmp);
        let d = v
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let f = 1.0 - (-x).exp();
                (f - i as f64 / n as f64).abs().max(((i + 1) as f64 / n as f64 - f).abs())
            })
            .fold(0.0, f64::max);
        assert!(d < 1.95 / (n as f64).sqrt(), "KS distance {d}");
        for x in [7.7f64, 10.0] {
            let p = (-x).exp();
            let tail = v.iter().filter(|&&e| e > x).count() as f64;
            let sd = (n as f64 * p * (1.0 - p)).sqrt();
            assert!((tail - n as f64 * p).abs() < 5.0 * sd, "beyond {x}: {tail}, expected {}", n as f64 * p);
        }
    }
}
