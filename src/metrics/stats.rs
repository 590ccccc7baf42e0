//! Statistics for analysis, judges and A/B tests. Pure functions, no simulation state.

/// The complementary error function, erfc(x), with relative error below 1.2e-7
/// everywhere (the Chebyshev fit of Press et al., *Numerical Recipes*, 2nd ed., §6.2).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// The standard normal CDF Φ(x).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// The standard normal quantile Φ⁻¹(p).
pub fn normal_quantile(p: f64) -> f64 {
    crate::sim::rng::inv_normal_cdf(p)
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
}
