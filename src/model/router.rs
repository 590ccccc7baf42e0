//! The load balancer: which version, then which ready instance, serves a request.

use crate::model::fleet::Fleet;
use crate::scenario::{Affinity, RouterMode};
use crate::sim::rng::{Stream, streams};

#[derive(Clone, Debug)]
pub struct Router {
    pub mode: RouterMode,
    pub affinity: Affinity,
    /// Share of traffic for the new version in `[0, 1]`, set by a strategy in `Weighted`
    /// mode. `None`: replica-proportional.
    pub weight: Option<f64>,
    version_by_request: Stream,
    version_by_user: Stream,
    instance: Stream,
}

impl Router {
    pub fn new(mode: RouterMode, affinity: Affinity, seed: u64) -> Router {
        Router {
            mode,
            affinity,
            weight: None,
            version_by_request: Stream::new(seed, streams::ROUTE_VERSION),
            version_by_user: Stream::new(seed, streams::STICKY_USER),
            instance: Stream::new(seed, streams::ROUTE_INSTANCE),
        }
    }

    /// The share of traffic the new version gets now.
    pub fn share_new(&self, fleet: &Fleet) -> f64 {
        match (self.mode, self.weight) {
            (RouterMode::Weighted, Some(w)) => w,
            _ => {
                let (n0, n1) = (fleet.routable[0].len(), fleet.routable[1].len());
                if n0 + n1 == 0 {
                    0.0
                } else {
                    n1 as f64 / (n0 + n1) as f64
                }
            }
        }
    }

    /// Picks the instance for request `id` of `user`; `None` when the chosen version has
    /// no ready instance (a 503 from the load balancer).
    ///
    /// Per-request: a fresh draw per request (kube-proxy picks a random endpoint per
    /// connection). Sticky: the draw is a hash of the user id, so a user stays on a
    /// version while the split is unchanged, and as the new share grows users move over
    /// in a fixed order and never back.
    #[inline]
    pub fn pick(&self, fleet: &Fleet, id: u64, user: u32) -> Option<u32> {
        let share = self.share_new(fleet);
        let sticky = self.affinity == Affinity::StickyUser;
        let u = if share <= 0.0 {
            1.0
        } else if sticky {
            self.version_by_user.unit(user as u64)
        } else {
            self.version_by_request.unit(id)
        };
        let v = usize::from(u < share);
        let list = &fleet.routable[v];
        if list.is_empty() {
            return None;
        }
        let key = if sticky {
            (user as u64) | (1 << 40)
        } else {
            id
        };
        Some(list[self.instance.index(key, list.len())])
    }
}
