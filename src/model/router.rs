//! The load balancer: which pool, then which ready instance, serves a request; and
//! which requests are mirrored to the new version.

use crate::model::fleet::{BASELINE, Fleet, NEW, POOLS, STABLE};
use crate::scenario::{Affinity, RouterMode};
use rand::RngExt;

use crate::des::rng::{Stream, streams};
use crate::des::time::Time;

/// Shares of traffic per pool `[stable, new, baseline]`, summing to 1.
pub type Weights = [f64; POOLS];

/// A DNS switch from one set of weights to another. Each client keeps its cached
/// answer until it expires: with uniformly spread cache ages a client moves at
/// `at + U·ttl`, so the old side's share falls linearly to 0 over one TTL. A share of
/// clients ignores the TTL (long-lived JVM caches, stubborn resolvers) and moves at a
/// uniform time within `stale_for` instead: the tail.
#[derive(Clone, Debug, PartialEq)]
pub struct DnsCutover {
    pub at: Time,
    pub ttl: Time,
    pub stale_share: f64,
    pub stale_for: Time,
    pub from: Weights,
    pub to: Weights,
}

#[derive(Clone, Debug)]
pub struct Router {
    pub mode: RouterMode,
    pub affinity: Affinity,
    /// Explicit traffic shares set by a strategy (an L7 split, or a blue-green selector).
    /// `None`: replica-proportional, like a Kubernetes Service.
    pub weights: Option<Weights>,
    /// A DNS switch in progress; overrides `weights` per client until it is over.
    pub dns: Option<DnsCutover>,
    /// Share of requests mirrored to the new pool (responses discarded).
    pub mirror: f64,
    version_by_request: Stream,
    version_by_user: Stream,
    instance: Stream,
    dns_draw: Stream,
    mirror_draw: Stream,
}

impl Router {
    pub fn new(mode: RouterMode, affinity: Affinity, seed: u64) -> Router {
        Router {
            mode,
            affinity,
            weights: None,
            dns: None,
            mirror: 0.0,
            version_by_request: Stream::new(seed, streams::ROUTE_VERSION),
            version_by_user: Stream::new(seed, streams::STICKY_USER),
            instance: Stream::new(seed, streams::ROUTE_INSTANCE),
            dns_draw: Stream::new(seed, streams::DNS),
            mirror_draw: Stream::new(seed, streams::MIRROR),
        }
    }

    fn proportional(fleet: &Fleet) -> Weights {
        let n = [0, 1, 2].map(|p| fleet.routable[p].len() as f64);
        let total = n[0] + n[1] + n[2];
        if total == 0.0 { [0.0; POOLS] } else { n.map(|x| x / total) }
    }

    /// The shares in force for clients that follow the current setting.
    pub fn shares(&self, fleet: &Fleet) -> Weights {
        match (&self.dns, self.weights) {
            (Some(d), _) => d.to,
            (None, Some(w)) => w,
            (None, None) => Self::proportional(fleet),
        }
    }

    /// The share of traffic going to the new version now, averaged over clients.
    pub fn share_new(&self, fleet: &Fleet, now: Time) -> f64 {
        match &self.dns {
            Some(d) => {
                let moved = self.dns_moved_share(d, now);
                moved * d.to[NEW as usize] + (1.0 - moved) * d.from[NEW as usize]
            }
            None => self.shares(fleet)[NEW as usize],
        }
    }

    /// Expected share of clients whose cache has expired by `now`.
    pub fn dns_moved_share(&self, d: &DnsCutover, now: Time) -> f64 {
        let frac = |span: Time| {
            if span == Time::ZERO {
                1.0
            } else {
                ((now.saturating_sub(d.at)).as_secs_f64() / span.as_secs_f64()).clamp(0.0, 1.0)
            }
        };
        (1.0 - d.stale_share) * frac(d.ttl) + d.stale_share * frac(d.stale_for)
    }

    /// When `user`'s cached DNS answer expires.
    fn dns_switch_time(&self, d: &DnsCutover, user: u32) -> Time {
        let mut draw = self.dns_draw.rng(user as u64);
        let stale = draw.random::<f64>() < d.stale_share;
        let span = if stale { d.stale_for } else { d.ttl };
        d.at + Time::from_secs_f64(draw.random::<f64>() * span.as_secs_f64())
    }

    /// Picks the instance for request `id` of `user`; `None` when the chosen pool has
    /// no ready instance (a 503 from the load balancer).
    ///
    /// Per-request: a fresh draw per request (kube-proxy picks a random endpoint per
    /// connection). Sticky: the draw is a hash of the user id, so a user stays on a
    /// pool while the split is unchanged, and as the new share grows users move over
    /// in a fixed order and never back.
    #[inline]
    pub fn pick(&self, fleet: &Fleet, id: u64, user: u32, now: Time) -> Option<u32> {
        let w = match &self.dns {
            Some(d) if now < self.dns_switch_time(d, user) => d.from,
            _ => self.weights_after_dns(fleet),
        };
        self.pick_with(&w, fleet, id, user)
    }

    /// The shares of the pools for a client whose DNS cache (if a switch is in progress)
    /// has expired: for every request while no switch is in progress.
    #[inline]
    pub fn weights_after_dns(&self, fleet: &Fleet) -> Weights {
        match (&self.dns, self.weights) {
            // Replica-proportional with only stable endpoints: all of it to stable.
            (None, None) if fleet.routable[NEW as usize].is_empty() && fleet.routable[BASELINE as usize].is_empty() => {
                [1.0, 0.0, 0.0]
            }
            _ => self.shares(fleet),
        }
    }

    /// [`pick`](Self::pick) with the pools' shares `w` for this request already known.
    #[inline]
    pub fn pick_with(&self, w: &Weights, fleet: &Fleet, id: u64, user: u32) -> Option<u32> {
        let sticky = self.affinity == Affinity::StickyUser;
        let pool = if w[NEW as usize] <= 0.0 && w[BASELINE as usize] <= 0.0 {
            STABLE
        } else {
            let u = if sticky { self.version_by_user.rng(user as u64) } else { self.version_by_request.rng(id) }
                .random::<f64>();
            if u < w[NEW as usize] {
                NEW
            } else if u < w[NEW as usize] + w[BASELINE as usize] {
                BASELINE
            } else {
                STABLE
            }
        };
        let list = &fleet.routable[pool as usize];
        if list.is_empty() {
            return None;
        }
        let key = if sticky { (user as u64) | (1 << 40) } else { id };
        Some(list[self.instance.rng(key).random_range(0..list.len())])
    }

    /// The new-pool instance that receives a mirrored copy of request `id`, if any.
    #[inline]
    pub fn mirror_target(&self, fleet: &Fleet, id: u64) -> Option<u32> {
        if self.mirror <= 0.0 || self.mirror_draw.rng(id).random::<f64>() >= self.mirror {
            return None;
        }
        let list = &fleet.routable[NEW as usize];
        if list.is_empty() {
            return None;
        }
        Some(list[self.instance.rng(id ^ (1 << 41)).random_range(0..list.len())])
    }
}
