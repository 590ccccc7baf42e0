//! A/B experiments: sticky variant assignment, conversions per session, and the
//! report with the statistics a decision needs.

use serde::{Deserialize, Serialize};

use super::UserSet;
use super::stats::{SrmCheck, sample_size_per_variant, srm_check, two_proportion_z_test};
use crate::model::gate::Variants;
use crate::scenario::AbTestSpec;
use rand::RngExt;

use crate::des::rng::{Stream, streams};

/// Counts per variant while an experiment runs.
#[derive(Clone, Debug)]
pub struct AbTally {
    pub variants: Variants,
    rates: Vec<f64>,
    loss: Vec<f64>,
    logged: UserSet,
    pub users: Vec<u64>,
    pub sessions: Vec<u64>,
    pub conversions: Vec<u64>,
    conversion: Stream,
    tracking: Stream,
}

impl AbTally {
    pub fn new(spec: &AbTestSpec, users: u32, seed: u64) -> AbTally {
        let weights: Vec<f64> = spec.variants.iter().map(|v| v.weight.0).collect();
        let n = weights.len();
        AbTally {
            variants: Variants::new(&weights, seed),
            rates: spec.variants.iter().map(|v| (spec.base_conversion.0 * (1.0 + v.lift)).clamp(0.0, 1.0)).collect(),
            loss: spec.variants.iter().map(|v| v.tracking_loss.0).collect(),
            logged: UserSet::new(users),
            users: vec![0; n],
            sessions: vec![0; n],
            conversions: vec![0; n],
            conversion: Stream::new(seed, streams::CONVERSION),
            tracking: Stream::new(seed, streams::CONVERSION ^ 0xabcd),
        }
    }

    /// A session of `user` starts with request `id`: it is logged (unless the user's
    /// events are lost) and converts with its variant's probability.
    pub fn session(&mut self, user: u32, id: u64) {
        let v = self.variants.of(user);
        if self.tracking.rng(user as u64).random::<f64>() < self.loss[v] {
            return;
        }
        if self.logged.insert(user) {
            self.users[v] += 1;
        }
        self.sessions[v] += 1;
        if self.conversion.rng(id).random::<f64>() < self.rates[v] {
            self.conversions[v] += 1;
        }
    }
}

/// One variant's results.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema, Deserialize, PartialEq)]
pub struct VariantResult {
    pub name: String,
    pub users: u64,
    pub sessions: u64,
    pub conversions: u64,
    pub conversion_rate: f64,
    /// Relative lift over the control (`None` for the control).
    pub lift: Option<f64>,
    pub p_value: Option<f64>,
    /// Confidence interval of the difference in conversion rate to the control.
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

/// The experiment's report and decision.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema, Deserialize, PartialEq)]
pub struct AbReport {
    pub variants: Vec<VariantResult>,
    pub srm_chi2: Option<f64>,
    pub srm_p_value: Option<f64>,
    pub srm_alert: bool,
    /// Sessions per variant needed to detect the configured minimum effect.
    pub needed_per_variant: Option<u64>,
    /// Index of the variant to ship; 0 keeps the control.
    pub winner: usize,
    pub decision: String,
}

/// Computes the report. Each treatment is tested against the control with a
/// two-proportion z-test at `alpha / (variants − 1)` (Bonferroni); the split is checked for
/// a sample-ratio mismatch on users; a winner ships only with no mismatch, a significant
/// and positive lift.
pub fn report(spec: &AbTestSpec, tally: &AbTally) -> AbReport {
    let k = spec.variants.len();
    let alpha = spec.alpha.0 / (k.saturating_sub(1).max(1)) as f64;
    let (cs, cn) = (tally.conversions[0], tally.sessions[0]);
    let mut variants = Vec::new();
    let mut best: Option<(usize, f64)> = None;
    for (i, v) in spec.variants.iter().enumerate() {
        let (s, n) = (tally.conversions[i], tally.sessions[i]);
        let rate = if n > 0 { s as f64 / n as f64 } else { 0.0 };
        let test = (i > 0).then(|| two_proportion_z_test(cs, cn, s, n, 1.0 - alpha)).flatten();
        if let Some(t) = &test
            && t.p_value < alpha
            && t.diff > 0.0
            && best.is_none_or(|(_, d)| t.diff > d)
        {
            best = Some((i, t.diff));
        }
        variants.push(VariantResult {
            name: v.name.clone(),
            users: tally.users[i],
            sessions: n,
            conversions: s,
            conversion_rate: rate,
            lift: test.as_ref().map(|t| t.lift),
            p_value: test.as_ref().map(|t| t.p_value),
            ci_low: test.as_ref().map(|t| t.ci_low),
            ci_high: test.as_ref().map(|t| t.ci_high),
        });
    }
    let weights: Vec<f64> = spec.variants.iter().map(|v| v.weight.0).collect();
    let srm: Option<SrmCheck> = srm_check(&tally.users, &weights);
    let srm_alert = srm.as_ref().is_some_and(|s| s.alert);
    let needed =
        sample_size_per_variant(spec.base_conversion.0, spec.min_detectable_effect.0, spec.alpha.0, spec.power.0);
    let min_sessions = tally.sessions.iter().copied().min().unwrap_or(0);
    let under = needed.is_some_and(|n| min_sessions < n);
    let (winner, decision) = if srm_alert {
        (
            0,
            format!(
                "keep control: sample ratio mismatch (p = {:.2e} < 0.001), the results cannot be trusted",
                srm.as_ref().map_or(0.0, |s| s.p_value)
            ),
        )
    } else if let Some((i, _)) = best {
        let v = &variants[i];
        (
            i,
            format!(
                "ship `{}`: conversion {:.3} % vs {:.3} %, lift {:+.1} %, p = {:.4} < {alpha:.4}",
                v.name,
                v.conversion_rate * 100.0,
                variants[0].conversion_rate * 100.0,
                v.lift.unwrap_or(0.0) * 100.0,
                v.p_value.unwrap_or(1.0)
            ),
        )
    } else {
        let note = if under {
            format!(" (underpowered: {min_sessions} sessions per variant, {} needed)", needed.unwrap_or(0))
        } else {
            String::new()
        };
        (0, format!("keep control: no variant is significantly better at α = {alpha:.4}{note}"))
    };
    AbReport {
        variants,
        srm_chi2: srm.as_ref().map(|s| s.chi2),
        srm_p_value: srm.as_ref().map(|s| s.p_value),
        srm_alert,
        needed_per_variant: needed,
        winner,
        decision,
    }
}
