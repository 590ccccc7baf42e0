//! A Kayenta-style canary judge, as pure functions.
//!
//! This follows the semantics of Spinnaker Kayenta's default judge (`NetflixACAJudge`),
//! re-implemented from its documented behaviour (no code is taken from it). File names
//! below are paths in the `spinnaker/kayenta` repository:
//!
//! * `kayenta-judge/.../judge/NetflixACAJudge.scala` reads each metric's `direction`
//!   (default `either`) and NaN strategy (default `remove`), and runs the
//!   `MannWhitneyClassifier` with `tolerance = 0.25` and `confLevel = 0.98`
//!   (also the defaults in `judge/config/NetflixJudgeConfigurationProperties.java`).
//! * `kayenta-judge/.../judge/classifiers/metric/MannWhitneyClassifier.scala` classifies
//!   one metric ([`classify`]).
//! * `kayenta-mannwhitney/.../mannwhitney/MannWhitney.scala` computes the confidence
//!   interval and the estimate of the location shift the way R's
//!   `wilcox.test(x, y, conf.int = TRUE, exact = FALSE, correct = TRUE)` does
//!   ([`mann_whitney`]).
//! * `kayenta-judge/.../judge/scorers/WeightedSumScorer.scala` and
//!   `.../judge/classifiers/score/ThresholdScoreClassifier.scala` turn the metric
//!   classifications into a score and a verdict ([`score`], [`verdict`]).
//!
//! What Kayenta has and this module leaves out: outlier removal (`outliers.strategy`,
//! off by default), the NaN `replace` strategy, custom effect-size thresholds
//! (`effectSize.allowedIncrease`/`allowedDecrease`; the defaults of 1.0 *are*
//! applied), the CLES effect-size measure, `critical` metrics (a critical failure sets
//! the score to 0), `mustHaveData` (Kayenta's `NodataFailMetric` label, counted as a
//! failure), muted metrics (left out of the score: the caller simply omits them) and
//! metric groups with group weights (see [`score`]).

use serde::{Deserialize, Serialize};

use crate::metrics::stats::{normal_cdf, normal_quantile};

/// Which change of a metric fails the canary: Kayenta's per-metric
/// `analysisConfigurations.canary.direction` (`docs/canary-config.md`; parsed in
/// `BaseMetricClassifier.scala`, where a missing or unknown value means `either`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// A rise is bad (error rate, latency, memory): the metric fails only if the canary is
    /// significantly *higher* than the baseline ([`MetricClass::High`]). A significant
    /// decrease is not a failure and is classified [`MetricClass::Pass`].
    Increase,
    /// A fall is bad (success count, throughput): the metric fails only if the canary is
    /// significantly *lower* ([`MetricClass::Low`]); a significant increase is a Pass.
    Decrease,
    /// Any significant change fails: High or Low. Kayenta's default.
    #[default]
    Either,
}

/// Result of the two-sample Mann–Whitney U (Wilcoxon rank-sum) test of `experiment`
/// against `control`, with the Hodges–Lehmann estimate of the location shift and its
/// confidence interval. Positive values mean the experiment (canary) is higher.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MannWhitney {
    /// U of the experiment: the number of (experiment, control) pairs in which the
    /// experiment value is larger, ties counting ½ (R's `W` for `wilcox.test(experiment,
    /// control)`, scipy's `mannwhitneyu(experiment, control).statistic`).
    pub u: f64,
    /// The normal-approximation statistic, with tie and continuity correction.
    pub z: f64,
    /// The two-sided p-value of `z`.
    pub p_value: f64,
    /// The Hodges–Lehmann estimate of the shift experiment − control: the median of all
    /// pairwise differences `experiment[i] − control[j]`.
    pub estimate: f64,
    /// Lower end of the confidence interval of the shift.
    pub ci_low: f64,
    /// Upper end of the confidence interval of the shift.
    pub ci_high: f64,
}

/// At most this many values per side in [`mann_whitney`]. The algorithm never forms the
/// n·m pairwise differences (it counts them in O(n + m) per step), so the cost is not
/// the reason for the cap: it keeps n·m ≤ 10¹² < 2⁵³, so every pair count and rank sum is
/// exact in `f64`.
pub const MAX_VALUES: usize = 1_000_000;

/// The two-sample, two-sided Mann–Whitney U test of `experiment` against `control`, and
/// the `confidence`-level interval of the location shift experiment − control.
///
/// Non-finite values (NaN, ±∞) are dropped first. Returns `None` if a side is then
/// empty or has more than [`MAX_VALUES`] values, if every value is the same (the test is
/// undefined; R stops with "cannot compute confidence interval when all observations are
/// tied"), or if `confidence` is not strictly between 0 and 1.
///
/// * `u`, `z`, `p_value` are R's `wilcox.test(experiment, control, exact = FALSE,
///   correct = TRUE)`: mid-ranks for ties, the normal approximation with the tie-corrected
///   variance `n·m/12 · ((n+m+1) − Σ(t³−t)/((n+m)(n+m−1)))` and a continuity correction of
///   ½ towards zero.
/// * The interval is the one R and Kayenta's `MannWhitney.scala` compute for the normal
///   approximation — Kayenta uses the normal approximation for every sample size and
///   never R's exact (small-sample, tie-free) method, and neither does this function. They
///   find the shifts μ at which the standardised, continuity-corrected rank-sum statistic
///   of `(experiment − μ, control)` equals ∓z₁₋α/₂, by root-finding (R `uniroot`, Kayenta a
///   Brent solver) between `min(experiment) − max(control)` and `max(experiment) −
///   min(control)`, returning an end of that range when the statistic does not cross
///   there. That statistic is a step function of μ that jumps at the pairwise differences,
///   so the roots are pairwise differences; this function computes them exactly (the
///   order statistic of the differences at which the step function crosses) instead of
///   approximating them (R's `uniroot` stops at a tolerance of 10⁻⁴).
/// * `estimate` is the Hodges–Lehmann median of the pairwise differences. R and Kayenta
///   solve the same statistic for zero; the solution set is an interval around the
///   median (with the continuity correction it spans up to two neighbouring differences
///   either side), and the root-finder returns some point in it. The median is that
///   interval's canonical point.
///
/// Cost: O((n + m) log(n + m)) for sorting, plus O(n + m) per step of a 64-step binary
/// search over the `f64` values for each of the four order statistics.
pub fn mann_whitney(control: &[f64], experiment: &[f64], confidence: f64) -> Option<MannWhitney> {
    if !(confidence > 0.0 && confidence < 1.0) {
        return None;
    }
    // x = experiment, y = control, as in Kayenta's `mannWhitneyUTest(experiment, control)`.
    let x = finite_sorted(experiment);
    let y = finite_sorted(control);
    let (n, m) = (x.len(), y.len());
    if n == 0 || m == 0 || n > MAX_VALUES || m > MAX_VALUES {
        return None;
    }
    let pairs = n as u64 * m as u64;
    let half = pairs as f64 / 2.0;

    // The test at shift 0: ties across the two samples count.
    let mut all = Vec::with_capacity(n + m);
    all.extend_from_slice(&x);
    all.extend_from_slice(&y);
    all.sort_by(f64::total_cmp);
    let sigma_all = rank_sum_sigma(n, m, tie_sum(&all));
    if sigma_all <= 0.0 {
        return None;
    }
    let u = u_statistic(&x, &y);
    let dz = u - half;
    let z = (dz - 0.5 * sign(dz)) / sigma_all;
    let p_value = (2.0 * normal_cdf(-z.abs())).min(1.0);

    // The statistic at a shift μ that is not a pairwise difference: only ties within a
    // sample remain, so σ is a constant σ₀ > 0 there, and U(μ) = #{differences > μ}.
    // g(k) is the standardised statistic when k differences are ≤ μ; it does not
    // increase with k.
    let sigma0 = rank_sum_sigma(n, m, tie_sum(&x) + tie_sum(&y));
    let g = |k: u64| {
        let d = (pairs - k) as f64 - half;
        (d - 0.5 * sign(d)) / sigma0
    };
    // The crossing of g with `zq`: the smallest k with g(k) ≤ zq, so the crossing is at
    // the k-th smallest difference. k = 0 (already below at the lowest shift) gives the
    // lowest difference; no such k gives the highest one, as R's and Kayenta's `root`.
    let crossing = |zq: f64| {
        if g(pairs) > zq {
            return kth_difference(&x, &y, pairs);
        }
        let (mut lo, mut hi) = (0u64, pairs);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if g(mid) <= zq {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        kth_difference(&x, &y, lo.max(1))
    };
    let zq = normal_quantile(1.0 - (1.0 - confidence) / 2.0);
    let ci_low = crossing(zq);
    let ci_high = crossing(-zq);

    let estimate = if pairs % 2 == 1 {
        kth_difference(&x, &y, pairs / 2 + 1)
    } else {
        0.5 * kth_difference(&x, &y, pairs / 2) + 0.5 * kth_difference(&x, &y, pairs / 2 + 1)
    };

    Some(MannWhitney { u, z, p_value, estimate, ci_low, ci_high })
}

/// A metric's classification (Kayenta's `MetricClassificationLabel`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricClass {
    /// No significant change in a direction that matters.
    Pass,
    /// The canary is significantly higher than the baseline.
    High,
    /// The canary is significantly lower than the baseline.
    Low,
    /// One side had no data (after NaN removal), or the test could not be computed.
    NoData,
}

/// The classification of one metric, with the test behind it and a human-readable reason.
#[derive(Clone, Debug, PartialEq)]
pub struct Classification {
    pub class: MetricClass,
    /// The test, when one was run (`None` for no data and for the identical-data shortcuts).
    pub detail: Option<MannWhitney>,
    pub reason: String,
}

/// Classifies one metric of the canary (`experiment`) against the baseline (`control`),
/// with Kayenta's rules (`MannWhitneyClassifier.scala`, `NetflixACAJudge.scala`):
///
/// 1. NaN values are removed (Kayenta's default `nanStrategy: remove`); this function
///    also drops ±∞.
/// 2. If either side is then empty: [`MetricClass::NoData`].
/// 3. If both sides hold the same values (compared sorted): Pass. If all values of both
///    sides are one and the same value: Pass.
/// 4. Otherwise the Mann–Whitney test ([`mann_whitney`]) gives the Hodges–Lehmann
///    estimate `est` of the shift and its `confidence` interval `[lo, hi]`. The
///    classification bounds are ±`tolerance`·|est|: there is no ratio-to-baseline
///    transform; the data are compared raw, and `tolerance` is a fraction of the
///    estimated shift itself. So a change is flagged only when the interval clears zero
///    by more than `tolerance` of its own estimate: significant (`lo > 0`) but imprecise
///    (`lo ≤ tolerance·est`) shifts pass.
///    * High if the direction is Increase or Either, `lo > tolerance·|est|`, and the mean
///      ratio mean(experiment)/mean(control) is ≥ 1 (Kayenta's default
///      `effectSize.allowedIncrease` of 1.0; skipped when either mean is 0, as Kayenta
///      does when the ratio is NaN).
///    * else Low if the direction is Decrease or Either, `hi < −tolerance·|est|`, and the
///      mean ratio is ≤ 1 (default `allowedDecrease`).
///    * else Pass. A significant change in a direction that does not matter is a Pass.
///
/// Kayenta adds Gaussian jitter (σ = 10⁻⁵ × the value) when each side is a constant, since
/// its root-finder fails when every difference is equal; that makes the result random but
/// leaves the interval within ~10⁻⁵ of the one difference. [`mann_whitney`] needs no
/// jitter: the interval is exactly `[a − b, a − b]`, so the outcome is deterministic.
///
/// An invalid `confidence` (not strictly between 0 and 1) gives NoData with a reason, the
/// counterpart of Kayenta's `Error` label, which the scorer likewise leaves out.
pub fn classify(
    control: &[f64],
    experiment: &[f64],
    direction: Direction,
    confidence: f64,
    tolerance: f64,
) -> Classification {
    let c = finite_sorted(control);
    let e = finite_sorted(experiment);
    if c.is_empty() || e.is_empty() {
        return Classification {
            class: MetricClass::NoData,
            detail: None,
            reason: format!("missing data: {} baseline and {} canary values", c.len(), e.len()),
        };
    }
    if c == e {
        return Classification {
            class: MetricClass::Pass,
            detail: None,
            reason: "the canary and baseline data are identical".into(),
        };
    }
    if c.iter().chain(&e).all(|&v| v == c[0]) {
        return Classification {
            class: MetricClass::Pass,
            detail: None,
            reason: format!("every canary and baseline value is {}", c[0]),
        };
    }
    let Some(mw) = mann_whitney(&c, &e, confidence) else {
        return Classification {
            class: MetricClass::NoData,
            detail: None,
            reason: format!(
                "Mann-Whitney test not computable (confidence {confidence}, {} baseline and {} canary values)",
                c.len(),
                e.len()
            ),
        };
    };
    let critical = tolerance.max(0.0) * mw.estimate.abs();
    let ratio = mean_ratio(&c, &e);
    let high = matches!(direction, Direction::Increase | Direction::Either)
        && mw.ci_low > critical
        && (ratio.is_nan() || ratio >= 1.0);
    let low = matches!(direction, Direction::Decrease | Direction::Either)
        && mw.ci_high < -critical
        && (ratio.is_nan() || ratio <= 1.0);
    let pct = confidence * 100.0;
    let (class, reason) = if high {
        (
            MetricClass::High,
            format!(
                "canary high: {pct}% interval of the shift [{:.4}, {:.4}] is above +{critical:.4} ({tolerance} x estimate {:.4}); mean ratio {ratio:.3}",
                mw.ci_low, mw.ci_high, mw.estimate
            ),
        )
    } else if low {
        (
            MetricClass::Low,
            format!(
                "canary low: {pct}% interval of the shift [{:.4}, {:.4}] is below -{critical:.4} ({tolerance} x estimate {:.4}); mean ratio {ratio:.3}",
                mw.ci_low, mw.ci_high, mw.estimate
            ),
        )
    } else {
        (
            MetricClass::Pass,
            format!(
                "no failing change: {pct}% interval of the shift [{:.4}, {:.4}], estimate {:.4}, bounds +/-{critical:.4}, direction {direction:?}",
                mw.ci_low, mw.ci_high, mw.estimate
            ),
        )
    };
    Classification { class, detail: Some(mw), reason }
}

/// The judgement of a whole canary run (Kayenta's `ScoreClassificationLabel`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Marginal,
    Fail,
}

/// The judge's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JudgeConfig {
    /// Confidence level of the interval of the shift.
    pub confidence: f64,
    /// Fraction of the estimated shift the interval must clear zero by to fail a metric.
    pub tolerance: f64,
    /// A score at or above this passes (the canary request's `scoreThresholds.pass`).
    pub pass_score: f64,
    /// A score below `pass_score` but at or above this is marginal; below it fails
    /// (`scoreThresholds.marginal`).
    pub marginal_score: f64,
}

impl Default for JudgeConfig {
    /// `confidence` 0.98 and `tolerance` 0.25 are what `NetflixACAJudge.scala` passes to
    /// the Mann–Whitney classifier (and the defaults in
    /// `NetflixJudgeConfigurationProperties.java`). Kayenta has no default score
    /// thresholds (`CanaryClassifierThresholdsConfig.java` requires both); pass 95 and
    /// marginal 75 are those of its sample canary configs (`json-formats.md`,
    /// `kayenta-atlas/.../sample-config.json`, `kayenta-judge/src/test/resources/test-config.json`).
    fn default() -> JudgeConfig {
        JudgeConfig { confidence: 0.98, tolerance: 0.25, pass_score: 95.0, marginal_score: 75.0 }
    }
}

impl JudgeConfig {
    /// [`classify`] with this configuration's confidence and tolerance.
    pub fn classify(&self, control: &[f64], experiment: &[f64], direction: Direction) -> Classification {
        classify(control, experiment, direction, self.confidence, self.tolerance)
    }
}

/// Kayenta fails the whole canary (score 0) when at least this percentage of the metrics
/// are NoData (`WeightedSumScorer.NODATA_THRESHOLD`).
pub const NODATA_FAIL_PERCENT: usize = 50;

/// The canary score, 0 to 100: the weighted percentage of the metrics with data that
/// passed, rounded to two decimals, as Kayenta's `WeightedSumScorer.scala`:
///
/// * High and Low count as failures, Pass as passes.
/// * NoData metrics are left out of both the numerator and the denominator (Kayenta
///   counts only Pass, High, Low and `NodataFailMetric`; the latter, from `mustHaveData`,
///   is not modelled here).
/// * If [`NODATA_FAIL_PERCENT`] % or more of the metrics (by count, not weight) are
///   NoData, the score is 0.
/// * An empty list, or one whose metrics with data all have weight 0, scores 0.
///
/// Weights must be finite and non-negative; others count as 0. With equal weights this is
/// Kayenta's score for a canary config whose metrics are all in one group. Kayenta
/// weights *groups*, not metrics: its summary score is Σ group score × group weight / 100,
/// groups without a weight sharing what is left of 100. Giving each metric its group's
/// weight divided by the group's size reproduces that when no metric is NoData (and the
/// group weights add up to 100, as they must for Kayenta's score to span 0–100). One
/// difference remains: Kayenta scores a group that has no metric with data as 100, so
/// with one metric per group a NoData metric would count as a pass; here it is left out.
pub fn score(classes: &[(MetricClass, f64)]) -> f64 {
    if classes.is_empty() {
        return 0.0;
    }
    let nodata = classes.iter().filter(|(class, _)| *class == MetricClass::NoData).count();
    if nodata * 100 >= NODATA_FAIL_PERCENT * classes.len() {
        return 0.0;
    }
    let (mut passed, mut total) = (0.0, 0.0);
    for &(class, weight) in classes {
        let w = if weight.is_finite() && weight > 0.0 { weight } else { 0.0 };
        match class {
            MetricClass::Pass => {
                passed += w;
                total += w;
            }
            MetricClass::High | MetricClass::Low => total += w,
            MetricClass::NoData => {}
        }
    }
    if total <= 0.0 {
        return 0.0;
    }
    (100.0 * passed / total * 100.0).round() / 100.0
}

/// Pass if `score ≥ pass_score`, else Marginal if `score ≥ marginal_score`, else Fail
/// (`ThresholdScoreClassifier.scala`). A NaN score fails.
pub fn verdict(score: f64, cfg: &JudgeConfig) -> Verdict {
    if score >= cfg.pass_score {
        Verdict::Pass
    } else if score >= cfg.marginal_score {
        Verdict::Marginal
    } else {
        Verdict::Fail
    }
}

/// The finite values, sorted.
fn finite_sorted(values: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// −1, 0 or 1 (unlike `f64::signum`, 0 for ±0), as R's `sign`.
fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Σ(t³ − t) over the groups of equal values of a sorted slice.
fn tie_sum(sorted: &[f64]) -> f64 {
    let mut sum = 0.0;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i + 1;
        while j < sorted.len() && sorted[j] == sorted[i] {
            j += 1;
        }
        let t = (j - i) as f64;
        sum += t * t * t - t;
        i = j;
    }
    sum
}

/// Standard deviation of the rank-sum statistic under the null hypothesis, tie-corrected.
fn rank_sum_sigma(n: usize, m: usize, ties: f64) -> f64 {
    let (n, m) = (n as f64, m as f64);
    let total = n + m;
    let var = n * m / 12.0 * ((total + 1.0) - ties / (total * (total - 1.0)));
    var.max(0.0).sqrt()
}

/// U of sorted `x` against sorted `y`: #{x > y} + ½·#{x = y}.
fn u_statistic(x: &[f64], y: &[f64]) -> f64 {
    let (mut lt, mut le) = (0usize, 0usize);
    let mut twice = 0u64;
    for &xi in x {
        while lt < y.len() && y[lt] < xi {
            lt += 1;
        }
        le = le.max(lt);
        while le < y.len() && y[le] <= xi {
            le += 1;
        }
        twice += 2 * lt as u64 + (le - lt) as u64;
    }
    twice as f64 / 2.0
}

/// #{(i, j) : x[i] − y[j] ≤ t} for sorted `x`, `y`. Floating-point subtraction is monotone
/// in each argument, so for each x[i] the qualifying j form a suffix of `y` whose start
/// only moves right as x[i] grows.
fn count_le(x: &[f64], y: &[f64], t: f64) -> u64 {
    let mut start = 0;
    let mut count = 0u64;
    for &xi in x {
        while start < y.len() && xi - y[start] > t {
            start += 1;
        }
        count += (y.len() - start) as u64;
    }
    count
}

/// The k-th smallest (1-based) of the differences x[i] − y[j] of sorted, non-empty `x`,
/// `y`: a binary search over the totally ordered bit patterns of `f64`, so the result is
/// exactly one of the differences as computed in floating point.
fn kth_difference(x: &[f64], y: &[f64], k: u64) -> f64 {
    let mut lo = order_key(x[0] - y[y.len() - 1]);
    let mut hi = order_key(x[x.len() - 1] - y[0]);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if count_le(x, y, from_order_key(mid)) >= k {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    from_order_key(lo) + 0.0 // −0 → +0
}

/// Maps an `f64` to a `u64` whose order is the numeric order (for non-NaN values).
fn order_key(v: f64) -> u64 {
    let b = v.to_bits();
    if b >> 63 == 1 { !b } else { b | 1 << 63 }
}

fn from_order_key(k: u64) -> f64 {
    if k >> 63 == 1 { f64::from_bits(k & !(1 << 63)) } else { f64::from_bits(!k) }
}

/// mean(experiment) / mean(control), NaN when either mean is 0 (Kayenta's
/// `EffectSizes.meanRatio`).
fn mean_ratio(control: &[f64], experiment: &[f64]) -> f64 {
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (c, e) = (mean(control), mean(experiment));
    if c == 0.0 || e == 0.0 { f64::NAN } else { e / c }
}

#[cfg(test)]
mod tests {
    //! Reference values: U and p from scipy 1.17
    //! `scipy.stats.mannwhitneyu(experiment, control, alternative='two-sided',
    //! method='asymptotic', use_continuity=True)`; the Hodges–Lehmann estimate from numpy,
    //! `np.median(np.subtract.outer(experiment, control))`; the confidence intervals from a
    //! separate Python port of R's `wilcox.test(experiment, control, conf.int=TRUE,
    //! exact=FALSE, correct=TRUE)` (ranks with `scipy.stats.rankdata`, the root of R's
    //! `wdiff` found with `scipy.optimize.brentq`, xtol 1e-13). That port reproduces the R
    //! results quoted in Kayenta's `kayenta-mannwhitney/.../MannWhitneySuite.scala` ("Tie
    //! out with R Version", plain and Large) within R's `uniroot` tolerance of 1e-4.
    use super::*;
    use crate::des::rng::Stream;
    use rand::RngExt;
    use rand_distr::{Distribution, LogNormal};

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    /// experiment {3, 5, 7} vs control {1, 2, 4}, by hand: the differences are
    /// −1, 1, 1, 2, 3, 3, 4, 5, 6, so U = 8 (pairs with experiment larger) and the
    /// Hodges–Lehmann estimate is the 5th of 9, 3. No ties: σ = √(3·3·7/12) = √5.25,
    /// z = (8 − 4.5 − 0.5)/√5.25 = 1.309307, p = 0.190430. At 50 %, z₀.₇₅ = 0.6745:
    /// g(U) = (U − 4.5 ∓ 0.5)/√5.25 first drops to ≤ 0.6745 at U = 6 (3 differences below),
    /// and to ≤ −0.6745 at U = 2 (7 below), so the interval is [d₍₃₎, d₍₇₎] = [1, 4]. At
    /// 98 % (z = 2.326) even U = 9 gives only 1.746, so the interval is the whole range
    /// [min diff, max diff] = [−1, 6]. (scipy U 8.0, p 0.19043026382552397; R port
    /// [1, 4] and [−1, 6].)
    #[test]
    fn small_sample_by_hand() {
        let mw = mann_whitney(&[1.0, 2.0, 4.0], &[3.0, 5.0, 7.0], 0.5).unwrap();
        assert_eq!(mw.u, 8.0);
        assert!(close(mw.z, 1.309_307_341_415_954_4, 1e-12), "{mw:?}");
        assert!(close(mw.p_value, 0.190_430_263_825_523_97, 1e-6), "{mw:?}");
        assert_eq!(mw.estimate, 3.0);
        assert_eq!((mw.ci_low, mw.ci_high), (1.0, 4.0));
        let mw98 = mann_whitney(&[1.0, 2.0, 4.0], &[3.0, 5.0, 7.0], 0.98).unwrap();
        assert_eq!((mw98.ci_low, mw98.ci_high), (-1.0, 6.0));
        // Swapping the roles mirrors everything.
        let rev = mann_whitney(&[3.0, 5.0, 7.0], &[1.0, 2.0, 4.0], 0.5).unwrap();
        assert_eq!(rev.u, 1.0);
        assert!(close(rev.z, -mw.z, 1e-12));
        assert_eq!((rev.estimate, rev.ci_low, rev.ci_high), (-3.0, -4.0, -1.0));
    }

    /// Heavy ties: control {1,1,2,2,2,3,3,4}, experiment {2,2,3,3,3,4,4,5,5}. Without the
    /// tie correction z would be (56 − 36 − 0.5)/√108 = 1.8764; with it, 1.9316.
    /// scipy: U 56.0, p 0.05340600959513755 (z 1.9316233668002754); HL median 1.0;
    /// R port: 95 % interval [0, 2], 98 % interval [0, 3].
    #[test]
    fn tie_correction() {
        let c = [1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 3.0, 4.0];
        let e = [2.0, 2.0, 3.0, 3.0, 3.0, 4.0, 4.0, 5.0, 5.0];
        let mw = mann_whitney(&c, &e, 0.95).unwrap();
        assert_eq!(mw.u, 56.0);
        assert!(close(mw.z, 1.931_623_366_800_275_4, 1e-12), "{mw:?}");
        assert!(close(mw.p_value, 0.053_406_009_595_137_55, 1e-6), "{mw:?}");
        assert_eq!(mw.estimate, 1.0);
        assert_eq!((mw.ci_low, mw.ci_high), (0.0, 2.0));
        let mw98 = mann_whitney(&c, &e, 0.98).unwrap();
        assert_eq!((mw98.ci_low, mw98.ci_high), (0.0, 3.0));
    }

    /// 25 and 30 gamma(4, 2.5) draws rounded to 0.1 (numpy default_rng(20240611), the
    /// experiment shifted by +1): a few ties, N = 750 pairs (even: HL is a mean of two).
    /// scipy: U 481.0, p 0.07448390384614889, z 1.7836294073164152; HL 2.0;
    /// R port: 98 % [−0.6, 4.9], 90 % [0.2, 4.0].
    #[test]
    fn medium_sample_matches_r() {
        let c = [
            8.2, 11.5, 9.9, 10.6, 6.1, 2.6, 6.1, 11.5, 5.4, 5.9, 13.9, 9.3, 10.1, 10.4, 13.9, 17.4, 13.3, 19.9, 14.0,
            5.6, 3.7, 7.0, 2.7, 8.5, 6.3,
        ];
        let e = [
            7.9, 6.8, 8.4, 14.9, 15.0, 5.1, 10.6, 8.0, 10.0, 14.5, 15.3, 5.8, 9.9, 13.4, 13.5, 14.1, 12.1, 8.0, 7.7,
            12.2, 6.2, 16.4, 11.1, 6.5, 15.0, 12.2, 21.9, 8.0, 11.6, 16.5,
        ];
        let mw = mann_whitney(&c, &e, 0.98).unwrap();
        assert_eq!(mw.u, 481.0);
        assert!(close(mw.z, 1.783_629_407_316_415_2, 1e-12), "{mw:?}");
        assert!(close(mw.p_value, 0.074_483_903_846_148_89, 1e-6), "{mw:?}");
        assert!(close(mw.estimate, 2.0, 1e-12), "{mw:?}");
        assert!(close(mw.ci_low, -0.6, 1e-12) && close(mw.ci_high, 4.9, 1e-12), "{mw:?}");
        let mw90 = mann_whitney(&c, &e, 0.90).unwrap();
        assert!(close(mw90.ci_low, 0.2, 1e-12) && close(mw90.ci_high, 4.0, 1e-12), "{mw90:?}");
    }

    /// The order-statistic search against materialised, sorted differences (brute force),
    /// on samples with ties, negative values and both parities of n·m.
    #[test]
    fn kth_difference_matches_brute_force() {
        for seed in 0..30u64 {
            let s = Stream::new(seed, 7);
            let n = s.rng(0).random_range(1..=12usize);
            let m = s.rng(1).random_range(1..=12usize);
            let mut x: Vec<f64> = (0..n as u64).map(|k| s.rng(100 + k).random_range(0..=10) as f64 - 4.0).collect();
            let mut y: Vec<f64> = (0..m as u64).map(|k| s.rng(200 + k).random_range(0..=8) as f64 * 0.5).collect();
            x.sort_by(f64::total_cmp);
            y.sort_by(f64::total_cmp);
            let mut d: Vec<f64> = x.iter().flat_map(|a| y.iter().map(move |b| a - b)).collect();
            d.sort_by(f64::total_cmp);
            for k in 1..=d.len() {
                assert_eq!(kth_difference(&x, &y, k as u64), d[k - 1] + 0.0, "seed {seed} k {k}");
            }
            let hl = if d.len() % 2 == 1 { d[d.len() / 2] } else { 0.5 * d[d.len() / 2 - 1] + 0.5 * d[d.len() / 2] };
            if let Some(mw) = mann_whitney(&y, &x, 0.98) {
                assert_eq!(mw.estimate, hl + 0.0, "seed {seed}");
                assert!(mw.ci_low <= mw.estimate && mw.estimate <= mw.ci_high, "seed {seed} {mw:?}");
            }
        }
    }

    #[test]
    fn undefined_tests_are_none() {
        assert!(mann_whitney(&[], &[1.0], 0.98).is_none());
        assert!(mann_whitney(&[1.0, f64::NAN], &[f64::NAN], 0.98).is_none());
        assert!(mann_whitney(&[2.0, 2.0], &[2.0], 0.98).is_none());
        assert!(mann_whitney(&[1.0], &[2.0], 1.0).is_none());
        assert!(mann_whitney(&[1.0], &[2.0], 0.0).is_none());
        assert!(mann_whitney(&[1.0], &[2.0], f64::NAN).is_none());
    }

    /// Kayenta: "The Canary and Baseline data are identical" → Pass, whatever the order;
    /// a single common value on both sides → Pass.
    #[test]
    fn equal_samples_pass() {
        let c = [3.0, 1.0, 2.0, 2.0, 9.0];
        let e = [2.0, 9.0, 1.0, 3.0, 2.0];
        for d in [Direction::Increase, Direction::Decrease, Direction::Either] {
            let r = classify(&c, &e, d, 0.98, 0.25);
            assert_eq!(r.class, MetricClass::Pass);
            assert!(r.detail.is_none());
        }
        let r = classify(&[5.0, 5.0, 5.0], &[5.0, f64::NAN], Direction::Either, 0.98, 0.25);
        assert_eq!(r.class, MetricClass::Pass, "{}", r.reason);
    }

    #[test]
    fn empty_side_is_nodata() {
        let r = classify(&[], &[1.0, 2.0], Direction::Either, 0.98, 0.25);
        assert_eq!(r.class, MetricClass::NoData);
        let r = classify(&[1.0, 2.0], &[f64::NAN, f64::NAN], Direction::Either, 0.98, 0.25);
        assert_eq!(r.class, MetricClass::NoData);
        assert!(r.reason.contains("missing data"), "{}", r.reason);
        let r = classify(&[1.0, 2.0], &[3.0, 4.0], Direction::Either, 1.5, 0.25);
        assert_eq!(r.class, MetricClass::NoData);
    }

    /// NaNs are removed before the comparison, not treated as values.
    #[test]
    fn nans_are_removed() {
        let c = [1.0, f64::NAN, 2.0, 3.0];
        let e = [f64::NAN, 3.0, 2.0, 1.0];
        assert_eq!(classify(&c, &e, Direction::Either, 0.98, 0.25).class, MetricClass::Pass);
    }

    /// control 1..=30, experiment = control + 10. R port (98 %): HL 10, interval [4, 16],
    /// and 4 > 0.25 × 10. Kayenta's `isHigh` needs direction Increase or Either; with
    /// Decrease a higher canary is a Pass. The mirror image is Low.
    #[test]
    fn clearly_higher_and_lower() {
        let c: Vec<f64> = (1..=30).map(f64::from).collect();
        let e: Vec<f64> = c.iter().map(|v| v + 10.0).collect();
        let r = classify(&c, &e, Direction::Increase, 0.98, 0.25);
        assert_eq!(r.class, MetricClass::High, "{}", r.reason);
        let mw = r.detail.unwrap();
        assert_eq!((mw.estimate, mw.ci_low, mw.ci_high), (10.0, 4.0, 16.0));
        assert_eq!(classify(&c, &e, Direction::Either, 0.98, 0.25).class, MetricClass::High);
        assert_eq!(classify(&c, &e, Direction::Decrease, 0.98, 0.25).class, MetricClass::Pass);
        // Canary lower.
        assert_eq!(classify(&e, &c, Direction::Decrease, 0.98, 0.25).class, MetricClass::Low);
        assert_eq!(classify(&e, &c, Direction::Either, 0.98, 0.25).class, MetricClass::Low);
        assert_eq!(classify(&e, &c, Direction::Increase, 0.98, 0.25).class, MetricClass::Pass);
    }

    /// control 1..=30, experiment = control + 7. scipy p = 0.00622, significant at 98 %,
    /// and the R port's 98 % interval is [1, 13] with HL 7: it clears zero, but not by
    /// 0.25 × 7 = 1.75, so Kayenta passes it. With tolerance 0 the same data is High.
    #[test]
    fn shift_within_tolerance_passes() {
        let c: Vec<f64> = (1..=30).map(f64::from).collect();
        let e: Vec<f64> = c.iter().map(|v| v + 7.0).collect();
        let r = classify(&c, &e, Direction::Either, 0.98, 0.25);
        assert_eq!(r.class, MetricClass::Pass, "{}", r.reason);
        let mw = r.detail.unwrap();
        assert!(close(mw.p_value, 0.006_219_233_329_593_867, 1e-6), "{mw:?}");
        assert_eq!((mw.estimate, mw.ci_low, mw.ci_high), (7.0, 1.0, 13.0));
        assert_eq!(classify(&c, &e, Direction::Either, 0.98, 0.0).class, MetricClass::High);
    }

    /// Kayenta's default effect-size check: High also needs mean ratio ≥ 1. Control 1..=9
    /// plus one 1000, experiment 11..=20: R port 98 % interval [5, 14], HL 10, so the ranks
    /// say "higher", but the means are 104.5 vs 15.5 (ratio 0.148) → Pass.
    #[test]
    fn mean_ratio_gate() {
        let mut c: Vec<f64> = (1..=9).map(f64::from).collect();
        c.push(1000.0);
        let e: Vec<f64> = (11..=20).map(f64::from).collect();
        let r = classify(&c, &e, Direction::Increase, 0.98, 0.25);
        assert_eq!(r.class, MetricClass::Pass, "{}", r.reason);
        let mw = r.detail.unwrap();
        assert_eq!((mw.estimate, mw.ci_low, mw.ci_high), (10.0, 5.0, 14.0));
        // Without the outlier the means agree with the ranks.
        let r = classify(&c[..9], &e, Direction::Increase, 0.98, 0.25);
        assert_eq!(r.class, MetricClass::High, "{}", r.reason);
    }

    /// Each side constant, different values (Kayenta's jitter case): the shift is exactly
    /// the difference, with a zero-width interval.
    #[test]
    fn constant_sides() {
        let r = classify(&[10.0; 5], &[12.0; 4], Direction::Increase, 0.98, 0.25);
        assert_eq!(r.class, MetricClass::High, "{}", r.reason);
        let mw = r.detail.unwrap();
        assert_eq!((mw.estimate, mw.ci_low, mw.ci_high), (2.0, 2.0, 2.0));
        assert_eq!(classify(&[10.0; 5], &[8.0; 4], Direction::Either, 0.98, 0.25).class, MetricClass::Low);
    }

    /// Control and experiment from the same lognormal distribution (median 100, σ 0.5),
    /// 60 values each, 400 seeds. A false positive needs the 98 % interval to exclude zero,
    /// which under the null happens with probability ≤ 0.02 (asymptotically; the continuity
    /// correction makes it conservative), and the tolerance check only lowers that. The
    /// count X is then at most Binomial(400, 0.02): mean 8, and P(X ≥ 20) = 2.1e-4 (scipy
    /// `binom.sf(19, 400, 0.02)`), so at most 19 are allowed.
    /// As a check of power, the same draws with the experiment scaled by 1.6 must be High
    /// in at least 90 % of the seeds.
    #[test]
    fn false_positive_rate_is_bounded() {
        // Log-normal with median 100 and σ = 0.5 (of ln).
        let lognormal = LogNormal::new(100f64.ln(), 0.5).expect("finite parameters");
        let draw = |s: &Stream, k: u64| lognormal.sample(&mut s.rng(k));
        let (mut false_positives, mut detected) = (0, 0);
        for seed in 0..400u64 {
            let s = Stream::new(seed, 99);
            let c: Vec<f64> = (0..60).map(|k| draw(&s, k)).collect();
            let e: Vec<f64> = (60..120).map(|k| draw(&s, k)).collect();
            if classify(&c, &e, Direction::Either, 0.98, 0.25).class != MetricClass::Pass {
                false_positives += 1;
            }
            let worse: Vec<f64> = e.iter().map(|v| v * 1.6).collect();
            if classify(&c, &worse, Direction::Increase, 0.98, 0.25).class == MetricClass::High {
                detected += 1;
            }
        }
        assert!(false_positives <= 19, "{false_positives} false positives in 400");
        assert!(detected >= 360, "{detected} of 400 detected");
    }

    /// WeightedSumScorer: score = weighted Pass share of the metrics with data; NoData is
    /// left out; 50 % or more NoData → 0; rounded to two decimals.
    #[test]
    fn scoring_with_weights() {
        use MetricClass::*;
        assert_eq!(score(&[(Pass, 1.0), (Pass, 1.0), (High, 1.0), (Low, 1.0)]), 50.0);
        // 3 of 4 equal-weight metrics → 75.
        assert_eq!(score(&[(Pass, 1.0), (Pass, 1.0), (Pass, 1.0), (High, 1.0)]), 75.0);
        // Weighted: 60 + 30 passed of 100.
        assert_eq!(score(&[(Pass, 60.0), (High, 10.0), (Pass, 30.0)]), 90.0);
        // NoData is excluded: 2 of 3 with data passed → 66.67 (rounded).
        assert_eq!(score(&[(Pass, 1.0), (Pass, 1.0), (Low, 1.0), (NoData, 5.0)]), 66.67);
        // 2 NoData of 4 metrics is 50 % → 0.
        assert_eq!(score(&[(Pass, 1.0), (Pass, 1.0), (NoData, 1.0), (NoData, 1.0)]), 0.0);
        assert_eq!(score(&[]), 0.0);
        assert_eq!(score(&[(Pass, 0.0), (High, 0.0)]), 0.0);
        assert_eq!(score(&[(Pass, 2.0), (High, f64::NAN), (High, -1.0)]), 100.0);
        assert_eq!(score(&[(Pass, 1.0)]), 100.0);
    }

    /// ThresholdScoreClassifier: score ≥ pass → Pass, ≥ marginal → Marginal, else Fail.
    #[test]
    fn verdict_thresholds() {
        let cfg = JudgeConfig::default();
        assert_eq!((cfg.confidence, cfg.tolerance, cfg.pass_score, cfg.marginal_score), (0.98, 0.25, 95.0, 75.0));
        assert_eq!(verdict(100.0, &cfg), Verdict::Pass);
        assert_eq!(verdict(95.0, &cfg), Verdict::Pass);
        assert_eq!(verdict(94.99, &cfg), Verdict::Marginal);
        assert_eq!(verdict(75.0, &cfg), Verdict::Marginal);
        assert_eq!(verdict(74.99, &cfg), Verdict::Fail);
        assert_eq!(verdict(0.0, &cfg), Verdict::Fail);
        assert_eq!(verdict(f64::NAN, &cfg), Verdict::Fail);
        let strict = JudgeConfig { pass_score: 100.0, marginal_score: 100.0, ..cfg };
        assert_eq!(verdict(99.99, &strict), Verdict::Fail);
    }

    /// End to end: one metric per class through the default config.
    #[test]
    fn judge_end_to_end() {
        let cfg = JudgeConfig::default();
        let c: Vec<f64> = (1..=30).map(f64::from).collect();
        let up: Vec<f64> = c.iter().map(|v| v + 10.0).collect();
        let classes = [
            (cfg.classify(&c, &c, Direction::Either).class, 1.0),
            (cfg.classify(&c, &up, Direction::Increase).class, 1.0),
            (cfg.classify(&c, &up, Direction::Decrease).class, 1.0),
            (cfg.classify(&c, &[], Direction::Either).class, 1.0),
        ];
        assert_eq!(
            classes.map(|(k, _)| k),
            [MetricClass::Pass, MetricClass::High, MetricClass::Pass, MetricClass::NoData]
        );
        let s = score(&classes);
        assert_eq!(s, 66.67);
        assert_eq!(verdict(s, &cfg), Verdict::Fail);
    }
}
