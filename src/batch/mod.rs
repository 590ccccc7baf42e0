//! Batch runs: many seeds per strategy in parallel on common random numbers (seed k of
//! every strategy sees the same users, requests, faults and defects, and one shared
//! baseline), statistics per metric, parameter sweeps, and shards that merge into
//! exactly what one machine would have produced.
//!
//! Results never depend on the number of threads: every seed's run is a pure function
//! of the scenario and the seed, and results are ordered by (point, strategy, seed)
//! before anything is aggregated.

pub mod stats;
pub mod sweep;

use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use stats::{MetricStats, StrategyStats, aggregate};

use crate::des::time::Time;
use crate::metrics::{BaselineTotals, Summary};
use crate::model::fleet::POOLS;
use crate::scenario::{Scenario, StrategySpec};
use crate::sim::Simulation;
use crate::sim::fast::tape::{RequestTape, TapeStorage};

/// The seed of run `k` of a batch: the scenario's seed plus `k`.
pub fn seed_of(scenario: &Scenario, k: u64) -> u64 {
    scenario.seed.wrapping_add(k)
}

/// One run's result.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SeedResult {
    /// Index of the sweep point (0 for a plain batch).
    pub point: usize,
    /// Index of the strategy in the batch's list.
    pub strategy: usize,
    /// Index of the seed within the batch (`seed = scenario.seed + index`).
    pub index: u64,
    pub summary: Summary,
}

/// Which share of the work this process does: shard `k` of `n` (1-based) takes the
/// work items whose index is `k − 1` modulo `n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub k: u32,
    pub n: u32,
}

impl Shard {
    pub const WHOLE: Shard = Shard { k: 1, n: 1 };

    /// Parses `K/N`.
    pub fn parse(s: &str) -> Result<Shard, BadShard> {
        let bad = || BadShard { text: s.to_string() };
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (k, n): (u32, u32) = (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if n == 0 || k == 0 || k > n || n > 100_000 {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }

    pub fn takes(&self, item: u64) -> bool {
        item % self.n as u64 == (self.k - 1) as u64
    }
}

/// Runs every strategy on one seed against one shared baseline.
pub fn run_seed(scenario: &Scenario, variants: &[(String, StrategySpec)], seed: u64) -> Vec<Summary> {
    run_seed_in(scenario, variants, seed, &mut TapeStorage::default())
}

/// [`run_seed`], drawing the seed's tape into `storage` and leaving its memory there for
/// the next seed.
pub fn run_seed_in(
    scenario: &Scenario,
    variants: &[(String, StrategySpec)],
    seed: u64,
    storage: &mut TapeStorage,
) -> Vec<Summary> {
    run_seed_carrying(scenario, variants, seed, storage).summaries
}

/// One seed of a batch: every strategy's summary, and when the baseline was forked off a
/// run and carried on one (see [`run_seed_carrying`]).
#[derive(Clone, Debug)]
pub struct SeedRun {
    pub summaries: Vec<Summary>,
    /// When the baseline was forked off the first run (just before its release).
    pub forked: Option<Time>,
    /// The strategy whose run carried the baseline, and from when.
    pub carried: Option<(usize, Time)>,
}

/// The run that met the baseline, when, and what it had totalled then (the baseline
/// stays as it was then).
struct Meeting {
    strategy: usize,
    at: Time,
    run_totals: [[u64; 4]; POOLS + 1],
    run_area: u128,
}

/// Runs every strategy on one seed against one shared baseline, reading the seed's tape
/// from `storage` (and leaving its memory there).
///
/// When the baseline's own summary is not asked for (`none` is not a strategy), the
/// baseline is forked off the first run just before its release (up to there the two
/// are the same run: [`Simulation::baseline_at_release`]), the baseline and the runs
/// then advance together second by second, and as soon as a run has
/// become the baseline again ([`Simulation::same_future_as`]: a rollback that has
/// finished and drained) the baseline stops. That run carries it from then on: whatever
/// the run adds from that second to its end the baseline would have added too, so the
/// baseline's failed requests and cost are its totals at the meeting plus the run's
/// since, and the users with a failed request are its own at the meeting plus those the
/// run notes from then on. Every summary is the same as against a baseline run to the
/// end (tested); the batch saves the rest of the baseline's simulation.
pub fn run_seed_carrying(
    scenario: &Scenario,
    variants: &[(String, StrategySpec)],
    seed: u64,
    storage: &mut TapeStorage,
) -> SeedRun {
    let mut s = scenario.clone();
    s.seed = seed;
    if crate::engine_of(&s) != crate::EngineKind::Instances {
        // A graph or a function: its own plan or deployment, against its baseline.
        let summaries = match crate::summarise(&s) {
            Ok((mut summary, _)) => {
                if let Some((name, _)) = variants.first() {
                    summary.strategy = name.clone();
                }
                vec![summary]
            }
            // Not for a loaded scenario or a checked sweep point: its graph resolved and
            // its section is there.
            Err(_) => Vec::new(),
        };
        return SeedRun { summaries, forked: None, carried: None };
    }
    // The baseline's own summary is needed only when `none` is one of the strategies.
    let carry = !variants.iter().any(|(_, spec)| matches!(spec, StrategySpec::None));
    // Every run of the seed reads the same arrivals, users and service times: drawn once
    // onto a tape when two runs read most of them. A single strategy whose baseline is
    // forked and carried (below) is the only run that does; it draws as it goes.
    let whole_runs =
        variants.iter().filter(|(_, spec)| !matches!(spec, StrategySpec::None)).count() + usize::from(!carry);
    let tape = if whole_runs >= 2 { RequestTape::bounded_in(&s, std::mem::take(storage)).map(Arc::new) } else { None };
    let mut runs: Vec<Option<Simulation>> = variants
        .iter()
        .map(|(_, spec)| {
            (!matches!(spec, StrategySpec::None)).then(|| {
                let mut v = s.clone();
                v.strategy = spec.clone();
                let mut run = Simulation::with_tape(Arc::new(v), tape.clone());
                // Only its summary is kept.
                run.keep_summary_only();
                run
            })
        })
        .collect();
    let base_scenario = Arc::new(crate::baseline_of(&s));
    // Up to the release the first run is the baseline too: fork it off there.
    let forked = match runs.iter_mut().flatten().next() {
        Some(first) if carry => {
            first.step_to_release().then(|| first.baseline_at_release(base_scenario.clone())).flatten()
        }
        _ => None,
    };
    let forked_at = forked.as_ref().map(Simulation::now);
    let mut baseline = forked.unwrap_or_else(|| {
        let mut b = Simulation::with_tape(base_scenario, tape.clone());
        if carry {
            b.keep_totals_only();
        }
        b
    });

    let mut meeting = None;
    if carry {
        let end = baseline.end();
        let mut t = Time::from_secs(baseline.now().whole_secs());
        'seconds: while t < end {
            t = (t + Time::SECOND).min(end);
            baseline.step_until(t);
            for (k, run) in runs.iter_mut().enumerate() {
                let Some(run) = run else { continue };
                run.step_until(t);
                if run.same_future_as(&baseline) {
                    meeting = Some(Meeting {
                        strategy: k,
                        at: t,
                        run_totals: run.metrics().totals,
                        run_area: run.instance_area(),
                    });
                    run.note_failed_users();
                    break 'seconds;
                }
            }
        }
    }
    for run in runs.iter_mut().flatten() {
        run.run_to_end();
    }
    let carried = meeting.as_ref().and_then(|m| runs[m.strategy].as_ref().map(|carrier| (m, carrier)));
    let base = match carried {
        None => {
            baseline.run_to_end();
            baseline.baseline_totals()
        }
        Some((m, carrier)) => {
            let (r, b) = (carrier.metrics(), baseline.metrics());
            let mut totals = b.totals;
            for (cell, (now, then)) in
                totals.iter_mut().flatten().zip(r.totals.iter().flatten().zip(m.run_totals.iter().flatten()))
            {
                *cell += now - then;
            }
            let mut failed_users = b.failed_users.clone();
            if let Some(since) = &r.failed_users_since {
                failed_users.insert_all(since);
            }
            BaselineTotals {
                failed: totals.iter().map(|v| v[1] + v[2] + v[3]).sum(),
                failed_users,
                cost: carrier.cost_with(baseline.instance_area() + (carrier.instance_area() - m.run_area)),
            }
        }
    };
    let summaries = variants
        .iter()
        .zip(&runs)
        .map(|((name, _), run)| {
            let mut sum = match run {
                Some(run) => run.summary_against(&base),
                None => baseline.summary(&baseline),
            };
            sum.strategy = name.clone();
            sum
        })
        .collect();
    drop(runs);
    drop(baseline);
    if let Some(t) = tape.and_then(|t| Arc::try_unwrap(t).ok()) {
        *storage = t.into_storage();
    }
    SeedRun { summaries, forked: forked_at, carried: meeting.map(|m| (m.strategy, m.at)) }
}

/// The strategies of a batch at one sweep point. A strategy that is the scenario's own —
/// its `strategy`, or an entry of its `compare` list — is taken from the point, so a sweep
/// over `strategy.…` or `compare[i].strategy.…` changes what runs; a built-in one stays as
/// it is.
pub fn variants_at(
    base: &Scenario,
    point: &Scenario,
    variants: &[(String, StrategySpec)],
) -> Vec<(String, StrategySpec)> {
    variants
        .iter()
        .map(|(name, spec)| {
            let own = match base.compare.iter().position(|v| v.name == *name && v.strategy == *spec) {
                Some(i) => point.compare.get(i).map(|v| v.strategy.clone()),
                None => (*spec == base.strategy).then(|| point.strategy.clone()),
            };
            (name.clone(), own.unwrap_or_else(|| spec.clone()))
        })
        .collect()
}

/// Why a batch's work could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{lists} strategy lists for {points} sweep points")]
    Lists { lists: usize, points: usize },
    #[error("cannot start the worker threads: {0}")]
    Threads(#[from] rayon::ThreadPoolBuildError),
}

/// A unit of batch work: one seed of one sweep point (all strategies).
#[derive(Clone, Copy, Debug)]
pub struct WorkItem {
    pub point: usize,
    pub index: u64,
}

/// Runs the work items of `shard` on `jobs` threads; results come back sorted by
/// (point, strategy, seed index) whatever the thread count. `variants[i]` are the
/// strategies at point `i` (see [`variants_at`]), the same names in the same order at
/// every point.
pub fn run_items(
    points: &[Scenario],
    variants: &[Vec<(String, StrategySpec)>],
    seeds: u64,
    shard: Shard,
    jobs: usize,
    progress: bool,
) -> Result<Vec<SeedResult>, RunError> {
    if variants.len() != points.len() {
        return Err(RunError::Lists { lists: variants.len(), points: points.len() });
    }
    let items: Vec<WorkItem> = (0..points.len())
        .flat_map(|p| (0..seeds).map(move |i| WorkItem { point: p, index: i }))
        .enumerate()
        .filter(|(n, _)| shard.takes(*n as u64))
        .map(|(_, w)| w)
        .collect();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs.max(1)).build()?;
    let bar = if progress {
        let b = indicatif::ProgressBar::new(items.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} runs  {elapsed} elapsed, ETA {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut results: Vec<SeedResult> = pool.install(|| {
        items
            .par_iter()
            .map_init(TapeStorage::default, |storage, w| {
                let s = &points[w.point];
                let out = run_seed_in(s, &variants[w.point], seed_of(s, w.index), storage);
                bar.inc(1);
                out.into_iter()
                    .enumerate()
                    .map(|(strategy, summary)| SeedResult { point: w.point, strategy, index: w.index, summary })
                    .collect::<Vec<_>>()
            })
            .flatten()
            .collect()
    });
    bar.finish_and_clear();
    results.sort_by_key(|r| (r.point, r.strategy, r.index));
    Ok(results)
}

/// A shard's output, or a whole batch's raw results: enough to merge and aggregate.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Partial {
    pub format: String,
    /// `batch` or `sweep`.
    pub command: String,
    pub scenario_name: String,
    /// Fingerprint of the scenario text and settings; shards of different work refuse
    /// to merge.
    pub fingerprint: String,
    pub seeds: u64,
    pub strategies: Vec<String>,
    /// Sweep points as `PATH=VALUE` lists (one empty list for a plain batch).
    pub points: Vec<Vec<String>>,
    pub shard: Shard,
    pub results: Vec<SeedResult>,
}

pub const PARTIAL_FORMAT: &str = "deploysim-partial-1";

/// A stable fingerprint of everything that determines a batch's results.
pub fn fingerprint(
    scenario: &Scenario,
    strategies: &[(String, StrategySpec)],
    seeds: u64,
    points: &[Vec<String>],
) -> String {
    let text = format!(
        "{}|{:?}|{seeds}|{:?}",
        crate::scenario::to_ron_string(scenario).unwrap_or_default(),
        strategies,
        points
    );
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in text.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{:016x}", crate::des::rng::mix64(h))
}

/// Text that is not a shard `K/N`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a shard: write K/N with 1 ≤ K ≤ N, e.g. 3/8")]
pub struct BadShard {
    pub text: String,
}

/// Why partial results do not merge.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error("nothing to merge")]
    Nothing,
    #[error("not a deploysim partial result (format `{format}`)")]
    Format { format: String },
    #[error("shard {}/{} comes from different work (fingerprint {fingerprint} vs {expected})", .shard.k, .shard.n)]
    DifferentWork { shard: Shard, fingerprint: String, expected: String },
    #[error("shards of {first} and {other} parts cannot be merged")]
    PartCounts { first: u32, other: u32 },
    #[error("shard {}/{} given twice", .shard.k, .shard.n)]
    Twice { shard: Shard },
    #[error("shard {}/{} is missing", .shard.k, .shard.n)]
    Missing { shard: Shard },
}

/// Combines shards into the whole: checks they belong to the same work, that none is
/// missing or repeated, and sorts the results as an unsharded run would.
pub fn merge(parts: Vec<Partial>) -> Result<Partial, MergeError> {
    let first = parts.first().ok_or(MergeError::Nothing)?.clone();
    let n = first.shard.n;
    let mut seen = vec![false; n as usize];
    let mut results = Vec::new();
    for p in parts {
        if p.format != PARTIAL_FORMAT {
            return Err(MergeError::Format { format: p.format });
        }
        if p.fingerprint != first.fingerprint || p.command != first.command {
            return Err(MergeError::DifferentWork {
                shard: p.shard,
                fingerprint: p.fingerprint,
                expected: first.fingerprint,
            });
        }
        if p.shard.n != n {
            return Err(MergeError::PartCounts { first: n, other: p.shard.n });
        }
        let slot = &mut seen[(p.shard.k - 1) as usize];
        if *slot {
            return Err(MergeError::Twice { shard: p.shard });
        }
        *slot = true;
        results.extend(p.results);
    }
    if let Some(missing) = seen.iter().position(|s| !s) {
        return Err(MergeError::Missing { shard: Shard { k: missing as u32 + 1, n } });
    }
    results.sort_by_key(|r| (r.point, r.strategy, r.index));
    Ok(Partial { shard: Shard::WHOLE, results, ..first })
}
