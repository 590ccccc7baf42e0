//! Statistics for analysis, judges and A/B tests. Pure functions, no simulation state.
//!
//! The distribution functions come from `statrs`; this module names the few the
//! analyses use and pins their edge cases.

use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

/// The standard normal CDF Φ(x).
pub fn normal_cdf(x: f64) -> f64 {
    Normal::standard().cdf(x)
}

/// The standard normal quantile Φ⁻¹(p).
pub fn normal_quantile(p: f64) -> f64 {
    Normal::standard().inverse_cdf(p)
}

/// The survival function (upper tail) of the chi-square distribution with `df` degrees
/// of freedom, P(X > x). `df = 0` is the point mass at 0, whose survival function is 1
/// for x < 0 and 0 otherwise; x ≤ 0 gives 1 and NaN gives NaN.
pub fn chi_square_sf(x: f64, df: u32) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if df == 0 {
        return if x < 0.0 { 1.0 } else { 0.0 };
    }
    if x <= 0.0 {
        return 1.0;
    }
    match ChiSquared::new(f64::from(df)) {
        Ok(c) => c.sf(x),
        Err(_) => f64::NAN,
    }
}

/// The result of [`two_proportion_z_test`]. Rates, differences and interval bounds are
/// proportions (0.25 means 25 %).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProportionTest {
    pub rate_a: f64,
    pub rate_b: f64,
    /// rate_b − rate_a.
    pub diff: f64,
    /// (rate_b − rate_a) / rate_a; 0 when rate_a is 0 (never NaN or infinite).
    pub lift: f64,
    /// The z statistic with the pooled standard error; positive when b is higher.
    pub z: f64,
    /// Two-sided p-value of `z`.
    pub p_value: f64,
    /// Wald confidence interval of `diff` at the requested confidence.
    pub ci_low: f64,
    pub ci_high: f64,
}

/// The two-sided two-proportion z-test of H0: p_a = p_b, with the Wald interval of the
/// difference (Fleiss, Levin & Paik, *Statistical Methods for Rates and Proportions*,
/// 3rd ed., 2003; the same as statsmodels' `proportions_ztest` and
/// `confint_proportions_2indep(method="wald")`):
///
/// - z = (p_b − p_a) / √(p̂(1−p̂)(1/n_a + 1/n_b)), p̂ = (x_a + x_b)/(n_a + n_b) (pooled);
/// - p = P(|Z| > |z|), computed as P(χ²₁ > z²) = Q(1/2, z²/2) for full double accuracy;
/// - CI = (p_b − p_a) ± z_{(1+confidence)/2} · √(p_a(1−p_a)/n_a + p_b(1−p_b)/n_b)
///   (unpooled). It collapses to a point when both rates are 0 or 1, the Wald
///   interval's known weakness at the boundary.
///
/// When both samples are all failures or all successes the pooled variance is 0 and z
/// is 0/0; there is then no evidence of a difference, so z = 0 and p = 1 are returned.
/// `None` when a sample is empty, successes exceed trials, or `confidence` is not in
/// (0, 1).
pub fn two_proportion_z_test(
    successes_a: u64,
    n_a: u64,
    successes_b: u64,
    n_b: u64,
    confidence: f64,
) -> Option<ProportionTest> {
    if n_a == 0 || n_b == 0 || successes_a > n_a || successes_b > n_b {
        return None;
    }
    if !(confidence > 0.0 && confidence < 1.0) {
        return None;
    }
    let (na, nb) = (n_a as f64, n_b as f64);
    let rate_a = successes_a as f64 / na;
    let rate_b = successes_b as f64 / nb;
    let diff = rate_b - rate_a;
    let lift = if rate_a == 0.0 { 0.0 } else { diff / rate_a };
    let pooled = (successes_a + successes_b) as f64 / (na + nb);
    let se_pooled = (pooled * (1.0 - pooled) * (1.0 / na + 1.0 / nb)).sqrt();
    let (z, p_value) = if se_pooled > 0.0 {
        let z = diff / se_pooled;
        (z, chi_square_sf(z * z, 1))
    } else {
        (0.0, 1.0)
    };
    let se_wald = (rate_a * (1.0 - rate_a) / na + rate_b * (1.0 - rate_b) / nb).sqrt();
    let half = normal_quantile(0.5 + 0.5 * confidence) * se_wald;
    Some(ProportionTest { rate_a, rate_b, diff, lift, z, p_value, ci_low: diff - half, ci_high: diff + half })
}

/// The p-value below which [`srm_check`] raises a sample-ratio-mismatch alert. 0.001 is
/// GrowthBook's default (`DEFAULT_SRM_THRESHOLD` in `packages/shared/src/constants.ts`
/// of growthbook/growthbook) and Statsig's red-alert level (docs.statsig.com,
/// "Experiment Diagnostics", which also asks for a deviation above 0.1 %). Optimizely
/// uses a sequential test instead of chi-square, so it has no such threshold.
pub const SRM_ALERT_P: f64 = 0.001;

/// The result of [`srm_check`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SrmCheck {
    /// Pearson's statistic Σ (O − E)² / E.
    pub chi2: f64,
    /// Degrees of freedom: variants − 1.
    pub df: u32,
    /// P(χ²_df > chi2).
    pub p_value: f64,
    /// `p_value < SRM_ALERT_P`.
    pub alert: bool,
}

/// Sample-ratio-mismatch check: Pearson's chi-square goodness-of-fit test (Pearson 1900;
/// any statistics text, e.g. Agresti, *Categorical Data Analysis*) of the observed
/// counts per variant against expected counts E_i = total · w_i / Σw. Alerts when
/// p < [`SRM_ALERT_P`]. `None` for fewer than 2 variants, mismatched lengths, a zero
/// total, or a weight that is not finite and positive.
pub fn srm_check(observed: &[u64], weights: &[f64]) -> Option<SrmCheck> {
    if observed.len() < 2 || observed.len() != weights.len() {
        return None;
    }
    if !weights.iter().all(|w| w.is_finite() && *w > 0.0) {
        return None;
    }
    let total = observed.iter().sum::<u64>() as f64;
    if total == 0.0 {
        return None;
    }
    let weight_sum: f64 = weights.iter().sum();
    let chi2 = observed
        .iter()
        .zip(weights)
        .map(|(&o, w)| {
            let expected = total * w / weight_sum;
            (o as f64 - expected).powi(2) / expected
        })
        .sum();
    let df = u32::try_from(observed.len() - 1).ok()?;
    let p_value = chi_square_sf(chi2, df);
    Some(SrmCheck { chi2, df, p_value, alert: p_value < SRM_ALERT_P })
}

/// Users per variant for a two-sided test of two proportions at level `alpha` with the
/// given `power`, by the classic normal-approximation formula without continuity
/// correction (Fleiss, Levin & Paik, *Statistical Methods for Rates and Proportions*,
/// 3rd ed., 2003, ch. 4):
///
/// n = (z_{1−α/2} √(2 p̄(1−p̄)) + z_{power} √(p1(1−p1) + p2(1−p2)))² / (p2 − p1)²,
///
/// with p1 = `base_rate`, p2 = p1 · (1 + `min_detectable_effect`) and p̄ = (p1 + p2)/2,
/// rounded up. The effect is *relative*: 0.1 means a rise from 10 % to 11 %; a negative
/// effect sizes a test for a drop. `None` unless p1 and p2 are in (0, 1), p2 ≠ p1, and
/// `alpha` and `power` are in (0, 1).
pub fn sample_size_per_variant(base_rate: f64, min_detectable_effect: f64, alpha: f64, power: f64) -> Option<u64> {
    let open_unit = |v: f64| v > 0.0 && v < 1.0;
    let p1 = base_rate;
    let p2 = p1 * (1.0 + min_detectable_effect);
    if !(open_unit(p1) && open_unit(p2) && open_unit(alpha) && open_unit(power)) || p2 == p1 {
        return None;
    }
    let p_bar = 0.5 * (p1 + p2);
    let z_alpha = normal_quantile(1.0 - 0.5 * alpha);
    let z_power = normal_quantile(power);
    let root = z_alpha * (2.0 * p_bar * (1.0 - p_bar)).sqrt() + z_power * (p1 * (1.0 - p1) + p2 * (1.0 - p2)).sqrt();
    let n = (root / (p2 - p1)).powi(2).ceil();
    n.is_finite().then_some(n as u64)
}

/// Percentile with linear interpolation between order statistics (Hyndman & Fan type 7,
/// the default of R and NumPy). `sorted` must be sorted and non-empty.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Φ(1.959964) = 0.975 and Φ(−2.326348) = 0.01 (standard normal tables).
    #[test]
    fn normal_cdf_matches_tables() {
        assert!((normal_cdf(1.959_964) - 0.975).abs() < 1e-6);
        assert!((normal_cdf(-2.326_348) - 0.01).abs() < 1e-6);
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
    }

    fn assert_rel(actual: f64, expected: f64, tol: f64) {
        let err = ((actual - expected) / expected).abs();
        assert!(err < tol, "{actual} vs {expected}: relative error {err:e}");
    }

    /// Critical values from standard chi-square tables: P(χ²₁ > 3.841459) = 0.05,
    /// P(χ²₁ > 10.827566) = 0.001, P(χ²₂ > 13.815511) = 0.001. The tables round x to
    /// 6 decimals, hence the 1e-6 relative tolerance.
    #[test]
    fn chi_square_sf_matches_tables() {
        assert_rel(chi_square_sf(3.841_459, 1), 0.05, 1e-6);
        assert_rel(chi_square_sf(10.827_566, 1), 0.001, 1e-6);
        assert_rel(chi_square_sf(13.815_511, 2), 0.001, 1e-6);
    }

    /// Expected values from scipy 1.17.1, `scipy.stats.chi2.sf(x, df)` with the arguments
    /// listed; tolerance 1e-10 relative, down to tails near the bottom of the f64 range.
    #[test]
    fn chi_square_sf_matches_scipy() {
        for (x, df, expected) in [
            (3.841_459, 1, 0.049_999_994_653_195_63),
            (10.827_566, 1, 0.001_000_000_092_173_747_4),
            (13.815_511, 2, 0.000_999_999_778_982_161_2),
            (1e-8, 1, 0.999_920_211_544_052_6),
            (0.5, 1, 0.479_500_122_186_953_37),
            (2.0, 3, 0.572_406_704_470_879_8),
            (15.0, 10, 0.132_061_856_287_720_6),
            (19.0, 20, 0.521_826_022_237_207_6),
            (25.0, 20, 0.201_431_104_945_535_9),
            (100.0, 20, 1.259_608_459_166_084_7e-12),
            (1000.0, 1, 1.795_832_784_800_736_3e-219),
            (1000.0, 20, 3.904_796_639_121_344_5e-199),
            (1380.0, 1, 4.661_158_455_674e-302),
            (1400.0, 2, 9.859_676_543_759_39e-305),
        ] {
            assert_rel(chi_square_sf(x, df), expected, 1e-10);
        }
    }

    /// Hand derivation: for df = 2, Q(1, x/2) = e^{−x/2}, down into the subnormals
    /// (scipy.stats.chi2.sf(1420.0, 2) is 4.476e-309 = e^−710; scipy.stats.chi2.sf(1e4,
    /// 20) is 0.0). x ≤ 0 gives 1.
    #[test]
    fn chi_square_sf_edges() {
        for x in [0.1, 1.0, 7.0, 50.0, 600.0] {
            assert_rel(chi_square_sf(x, 2), (-0.5 * x).exp(), 1e-12);
        }
        assert_rel(chi_square_sf(1420.0, 2), (-710f64).exp(), 1e-10);
        assert_eq!(chi_square_sf(1e4, 20), 0.0);
        assert_eq!(chi_square_sf(0.0, 5), 1.0);
        assert_eq!(chi_square_sf(-1.0, 1), 1.0);
        assert_eq!(chi_square_sf(f64::INFINITY, 4), 0.0);
        assert!(chi_square_sf(f64::NAN, 3).is_nan());
    }

    /// 200/1000 vs 250/1000. Expected z and p from statsmodels 0.14
    /// `proportions_ztest([250, 200], [1000, 1000])` = (2.677397763008329,
    /// 0.007419649261025687), which agrees with scipy
    /// `chi2_contingency([[200, 800], [250, 750]], correction=False)`
    /// (statistic 7.168458781362007 = z², p 0.007419649261025672). The CI from statsmodels
    /// `confint_proportions_2indep(250, 1000, 200, 1000, method="wald", compare="diff")`
    /// = (0.013463621687539826, 0.08653637831246015). Lift by hand: 0.05 / 0.2 = 0.25.
    #[test]
    fn z_test_worked_example() {
        let t = two_proportion_z_test(200, 1000, 250, 1000, 0.95).unwrap();
        assert_eq!((t.rate_a, t.rate_b), (0.2, 0.25));
        assert_rel(t.diff, 0.05, 1e-12);
        assert_rel(t.lift, 0.25, 1e-12);
        assert_rel(t.z, 2.677_397_763_008_329, 1e-12);
        assert_rel(t.p_value, 0.007_419_649_261_025_687, 1e-10);
        assert_rel(t.ci_low, 0.013_463_621_687_539_826, 1e-8);
        assert_rel(t.ci_high, 0.086_536_378_312_460_15, 1e-8);
    }

    /// Swapping the arms negates z and the difference and keeps p.
    #[test]
    fn z_test_is_antisymmetric() {
        let ab = two_proportion_z_test(130, 2000, 95, 1800, 0.9).unwrap();
        let ba = two_proportion_z_test(95, 1800, 130, 2000, 0.9).unwrap();
        assert_eq!(ab.z, -ba.z);
        assert_eq!(ab.diff, -ba.diff);
        assert_eq!(ab.p_value, ba.p_value);
        assert_rel(ab.ci_low, -ba.ci_high, 1e-12);
    }

    /// The interval contains the observed difference, is symmetric about it, and widens
    /// with the confidence level, over a grid of inputs.
    #[test]
    fn z_test_ci_contains_diff() {
        for (sa, na, sb, nb) in [
            (1, 10, 9, 10),
            (0, 50, 3, 40),
            (200, 1000, 250, 1000),
            (5_000, 100_000, 5_200, 100_000),
            (999, 1000, 1000, 1000),
            (7, 7, 0, 13),
        ] {
            let mut last_width = 0.0;
            for confidence in [0.5, 0.8, 0.9, 0.95, 0.99, 0.999] {
                let t = two_proportion_z_test(sa, na, sb, nb, confidence).unwrap();
                assert!(t.ci_low <= t.diff && t.diff <= t.ci_high, "{t:?}");
                assert!(((t.diff - t.ci_low) - (t.ci_high - t.diff)).abs() < 1e-12);
                assert!(t.ci_high - t.ci_low >= last_width);
                last_width = t.ci_high - t.ci_low;
                assert!((0.0..=1.0).contains(&t.p_value) && t.lift.is_finite());
            }
        }
    }

    /// Both rates 0 (or both 1): the pooled variance is 0, reported as z = 0, p = 1.
    /// A base rate of 0 gives lift 0. Empty samples and bad inputs give None.
    #[test]
    fn z_test_degenerate_inputs() {
        for (sa, sb) in [(0, 0), (100, 80)] {
            let t = two_proportion_z_test(sa, 100, sb, 80, 0.95).unwrap();
            assert_eq!((t.z, t.p_value, t.diff), (0.0, 1.0, 0.0));
            assert_eq!((t.ci_low, t.ci_high), (0.0, 0.0));
        }
        assert_eq!(two_proportion_z_test(0, 100, 5, 100, 0.95).unwrap().lift, 0.0);
        assert!(two_proportion_z_test(0, 0, 1, 10, 0.95).is_none());
        assert!(two_proportion_z_test(1, 10, 0, 0, 0.95).is_none());
        assert!(two_proportion_z_test(11, 10, 1, 10, 0.95).is_none());
        for confidence in [0.0, 1.0, f64::NAN] {
            assert!(two_proportion_z_test(1, 10, 2, 10, confidence).is_none());
        }
    }

    /// Expected values from scipy 1.17.1, `scipy.stats.chisquare(f_obs, f_exp)`:
    /// - chisquare([5000, 5000]) = (0.0, 1.0);
    /// - chisquare([5000, 4700]) = (9.278350515463918, 0.002318781454334581): p is above
    ///   0.001, so this is *not* an SRM alert;
    /// - chisquare([5000, 4600]) = (16.666666666666668, 4.455709060405612e-05): alert.
    #[test]
    fn srm_two_variants() {
        let even = srm_check(&[5000, 5000], &[1.0, 1.0]).unwrap();
        assert_eq!((even.chi2, even.df, even.p_value, even.alert), (0.0, 1, 1.0, false));

        let mild = srm_check(&[5000, 4700], &[0.5, 0.5]).unwrap();
        assert_rel(mild.chi2, 9.278_350_515_463_918, 1e-12);
        assert_rel(mild.p_value, 0.002_318_781_454_334_581, 1e-10);
        assert!(!mild.alert);

        let bad = srm_check(&[5000, 4600], &[50.0, 50.0]).unwrap();
        assert_rel(bad.chi2, 16.666_666_666_666_668, 1e-12);
        assert_rel(bad.p_value, 4.455_709_060_405_612e-5, 1e-10);
        assert!(bad.alert);
    }

    /// Expected values from scipy 1.17.1, `scipy.stats.chisquare(f_obs, f_exp)` for a
    /// 50/25/25 split:
    /// - chisquare([2100, 1000, 900], [2000, 1000, 1000]) = (15.0, 0.0005530843701478337);
    /// - chisquare([5050, 2480, 2470], [5000, 2500, 2500]) = (1.02, 0.6004955788122661).
    #[test]
    fn srm_three_variants() {
        let bad = srm_check(&[2100, 1000, 900], &[2.0, 1.0, 1.0]).unwrap();
        assert_eq!(bad.df, 2);
        assert_rel(bad.chi2, 15.0, 1e-12);
        assert_rel(bad.p_value, 0.000_553_084_370_147_833_7, 1e-10);
        assert!(bad.alert);

        let fine = srm_check(&[5050, 2480, 2470], &[0.5, 0.25, 0.25]).unwrap();
        assert_rel(fine.chi2, 1.02, 1e-12);
        assert_rel(fine.p_value, 0.600_495_578_812_266_1, 1e-10);
        assert!(!fine.alert);
    }

    #[test]
    fn srm_rejects_bad_input() {
        assert!(srm_check(&[10], &[1.0]).is_none());
        assert!(srm_check(&[0, 0], &[1.0, 1.0]).is_none());
        assert!(srm_check(&[5, 5], &[1.0, 0.0]).is_none());
        assert!(srm_check(&[5, 5], &[1.0, -1.0]).is_none());
        assert!(srm_check(&[5, 5], &[1.0, f64::NAN]).is_none());
        assert!(srm_check(&[5, 5, 5], &[1.0, 1.0]).is_none());
    }

    /// Expected values computed independently in Python with
    /// `scipy.stats.norm.ppf` (z_{1−α/2} = norm.ppf(1 − α/2), z_power = norm.ppf(power))
    /// and the formula in the doc comment:
    /// - base 0.10, MDE +10 % (p2 = 0.11), α 0.05, power 0.8: n = 14750.790… → 14751;
    /// - base 0.05, MDE +20 %, α 0.05, power 0.8: 8157.731… → 8158;
    /// - base 0.20, MDE +5 %, α 0.01, power 0.9: 48496.891… → 48497;
    /// - base 0.50, MDE −10 %, α 0.05, power 0.8: 1564.672… → 1565.
    #[test]
    fn sample_size_matches_independent_computation() {
        assert_eq!(sample_size_per_variant(0.10, 0.10, 0.05, 0.8), Some(14_751));
        assert_eq!(sample_size_per_variant(0.05, 0.20, 0.05, 0.8), Some(8_158));
        assert_eq!(sample_size_per_variant(0.20, 0.05, 0.01, 0.9), Some(48_497));
        assert_eq!(sample_size_per_variant(0.50, -0.10, 0.05, 0.8), Some(1_565));
    }

    #[test]
    fn sample_size_rejects_bad_input() {
        assert_eq!(sample_size_per_variant(0.0, 0.1, 0.05, 0.8), None);
        assert_eq!(sample_size_per_variant(1.0, 0.1, 0.05, 0.8), None);
        assert_eq!(sample_size_per_variant(0.6, 1.0, 0.05, 0.8), None); // p2 = 1.2
        assert_eq!(sample_size_per_variant(0.5, 1.0, 0.05, 0.8), None); // p2 = 1
        assert_eq!(sample_size_per_variant(0.5, -1.0, 0.05, 0.8), None); // p2 = 0
        assert_eq!(sample_size_per_variant(0.1, 0.0, 0.05, 0.8), None);
        assert_eq!(sample_size_per_variant(0.1, 0.1, 0.0, 0.8), None);
        assert_eq!(sample_size_per_variant(0.1, 0.1, 0.05, 1.0), None);
        assert_eq!(sample_size_per_variant(0.1, f64::NAN, 0.05, 0.8), None);
    }
}
