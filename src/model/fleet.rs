//! The instance fleet: instances with a Kubernetes-like lifecycle, the routable
//! endpoint lists, and per-version desired counts (a ReplicaSet's `spec.replicas`).
//!
//! The fleet holds state only; the engine moves instances through their lifecycle
//! because that needs the event queue.

use std::collections::VecDeque;

use crate::des::time::Time;

/// Pool of the running (stable) version.
pub const STABLE: u8 = 0;
/// Pool of the released (new) version: canary, preview environment, shadow.
pub const NEW: u8 = 1;
/// Pool running the stable version's code, sized like the canary, so a canary judge
/// compares groups of equal size (Kayenta's "baseline").
pub const BASELINE: u8 = 2;
/// Number of pools.
pub const POOLS: usize = 3;
/// Pool names, for tables and logs.
pub const POOL_NAMES: [&str; POOLS] = ["stable", "new", "baseline"];

/// Where an instance is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Scheduled, image pulling.
    Pending,
    /// Container started, application booting.
    Booting,
    /// Application up; waiting for the readiness probe (or ready, see `Instance::ready`).
    Running,
    /// Crashed, waiting out the restart back-off.
    Backoff,
    /// Its zone is down.
    Down,
    /// Deleted: takes no new requests, finishes what it has.
    Draining,
    /// Taken out of service for an in-place update (deregistered, then stopped and
    /// reinstalled on the same host).
    Updating,
    Terminated,
}

impl Phase {
    pub fn label(self) -> &'static str {
        match self {
            Phase::Pending => "pending",
            Phase::Booting => "booting",
            Phase::Running => "running",
            Phase::Backoff => "crash-backoff",
            Phase::Down => "down",
            Phase::Draining => "draining",
            Phase::Updating => "updating",
            Phase::Terminated => "terminated",
        }
    }
}

const NOT_ROUTABLE: u32 = u32::MAX;

#[derive(Clone, Debug)]
pub struct Instance {
    pub id: u32,
    /// Its pool: [`STABLE`], [`NEW`] or [`BASELINE`]; the pool fixes the code it runs.
    pub version: u8,
    pub zone: u16,
    pub phase: Phase,
    pub created: Time,
    /// When the application last came up.
    pub up_since: Option<Time>,
    /// When it last passed its readiness probe (while ready).
    pub ready_since: Option<Time>,
    /// In the endpoints (passes readiness).
    pub ready: bool,
    /// Ready for at least `minReadySeconds`.
    pub available: bool,
    /// Scaled down by its ReplicaSet.
    pub deleting: bool,
    /// Stopped answering (zone outage) but not yet taken out of the endpoints.
    pub unresponsive: bool,
    pub restarts: u32,
    /// Crashes over its whole life (`restarts` resets after ten good minutes).
    pub crashes: u32,
    /// Incremented whenever pending lifecycle events become void (crash, outage, delete).
    pub epoch: u32,
    /// How long the pending in-place update's install takes (see `Life::InPlaceStop`).
    pub install: Time,
    /// Error probability of a bad configuration pushed to it (0: none).
    pub bad_config: f64,
    /// Error probability of hand-made configuration drift, kept for its whole life.
    pub drift: f64,
    /// Slab indices of requests being served whose completion is in the event queue.
    pub in_service: Vec<u32>,
    /// Requests being served whose completion waits here instead (see the engine's
    /// `completions`), unordered, and the earliest key among them.
    pub kept: Vec<Kept>,
    pub kept_min: u128,
    /// In the engine's list of instances that may keep completions.
    pub kept_listed: bool,
    /// Slab indices of requests waiting (FIFO).
    pub queue: VecDeque<u32>,
    routable_pos: u32,
}

/// A completion kept with its instance: the event-queue key it would have (`done` times
/// 2^64 plus a sequence number) and what counting its request needs. A kept request
/// holds no slab record: its client's deadline is not before `done`, so nothing but the
/// completion (or a failure of its instance) can end it.
#[derive(Clone, Copy, Debug)]
pub struct Kept {
    pub key: u128,
    pub id: u64,
    pub arrival: Time,
    pub user: u32,
    /// The pool of the instance that serves it.
    pub version: u8,
    pub fail: bool,
    pub new_code: bool,
    pub shadow: bool,
}

impl Kept {
    /// When it completes.
    #[inline]
    pub fn done(&self) -> Time {
        Time::from_micros((self.key >> 64) as u64)
    }
}

impl Instance {
    pub fn alive(&self) -> bool {
        self.phase != Phase::Terminated
    }
    /// Requests being served (some may have finished and wait to be counted).
    #[inline]
    pub fn serving(&self) -> usize {
        self.in_service.len() + self.kept.len()
    }
    pub fn has_work(&self) -> bool {
        self.serving() > 0 || !self.queue.is_empty()
    }
}

/// Counts for one version, as a controller sees them (cf. ReplicaSet status).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStatus {
    /// `spec.replicas`.
    pub desired: u32,
    /// Instances not being deleted (`status.replicas`).
    pub current: u32,
    pub ready: u32,
    pub available: u32,
    /// Deleted, still finishing work.
    pub terminating: u32,
}

#[derive(Clone, Debug)]
pub struct Fleet {
    pub instances: Vec<Instance>,
    /// Ids of instances not yet terminated, in creation order.
    pub active: Vec<u32>,
    /// Ids of routable instances per pool.
    pub routable: [Vec<u32>; POOLS],
    /// Desired instances per pool.
    pub desired: [u32; POOLS],
    pub zones: u16,
    /// Zones currently down (counts overlapping outages).
    pub zone_down: Vec<u32>,
    /// `minReadySeconds`.
    pub min_ready: Time,
    /// In-place updates a controller asked for; the engine carries them out.
    pub in_place: Vec<InPlaceRequest>,
}

/// Update instance `id` in place to run `pool`'s code: deregister, wait `block_traffic`,
/// stop and reinstall for `install`, then start on the same host.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InPlaceRequest {
    pub id: u32,
    pub pool: u8,
    pub block_traffic: Time,
    pub install: Time,
}

impl Fleet {
    pub fn new(zones: u16) -> Fleet {
        Fleet {
            instances: Vec::new(),
            active: Vec::new(),
            routable: Default::default(),
            desired: [0; POOLS],
            zones,
            zone_down: vec![0; zones as usize],
            min_ready: Time::ZERO,
            in_place: Vec::new(),
        }
    }

    pub fn status(&self, version: u8) -> PoolStatus {
        let mut s = PoolStatus { desired: self.desired[version as usize], ..Default::default() };
        for &id in &self.active {
            let i = &self.instances[id as usize];
            if i.version != version {
                continue;
            }
            if i.deleting {
                s.terminating += 1;
                continue;
            }
            s.current += 1;
            s.ready += u32::from(i.ready);
            s.available += u32::from(i.available);
        }
        s
    }

    /// Instances alive (including draining), all versions.
    pub fn alive_count(&self) -> usize {
        self.active.len()
    }

    /// A zone for a new instance of `version`: the up zone with fewest of its instances
    /// (topology spread), lowest index on ties.
    pub fn pick_zone(&self, version: u8) -> u16 {
        let mut counts = vec![0u32; self.zones as usize];
        for &id in &self.active {
            let i = &self.instances[id as usize];
            if i.version == version && !i.deleting {
                counts[i.zone as usize] += 1;
            }
        }
        (0..self.zones)
            .filter(|&z| self.zone_down[z as usize] == 0)
            .min_by_key(|&z| (counts[z as usize], z))
            .unwrap_or(0)
    }

    pub fn add(&mut self, version: u8, zone: u16, now: Time) -> u32 {
        let id = self.instances.len() as u32;
        self.instances.push(Instance {
            id,
            version,
            zone,
            phase: Phase::Pending,
            created: now,
            up_since: None,
            ready_since: None,
            ready: false,
            available: false,
            deleting: false,
            unresponsive: false,
            restarts: 0,
            crashes: 0,
            epoch: 0,
            install: Time::ZERO,
            bad_config: 0.0,
            drift: 0.0,
            in_service: Vec::new(),
            kept: Vec::new(),
            kept_min: u128::MAX,
            kept_listed: false,
            queue: VecDeque::new(),
            routable_pos: NOT_ROUTABLE,
        });
        self.active.push(id);
        id
    }

    pub fn set_routable(&mut self, id: u32, on: bool) {
        let inst = &mut self.instances[id as usize];
        let list = &mut self.routable[inst.version as usize];
        if on && inst.routable_pos == NOT_ROUTABLE {
            inst.routable_pos = list.len() as u32;
            list.push(id);
        } else if !on && inst.routable_pos != NOT_ROUTABLE {
            let pos = inst.routable_pos as usize;
            inst.routable_pos = NOT_ROUTABLE;
            list.swap_remove(pos);
            if let Some(&moved) = list.get(pos) {
                self.instances[moved as usize].routable_pos = pos as u32;
            }
        }
    }

    pub fn is_routable(&self, id: u32) -> bool {
        self.instances[id as usize].routable_pos != NOT_ROUTABLE
    }

    pub fn mark_terminated(&mut self, id: u32) {
        self.set_routable(id, false);
        let inst = &mut self.instances[id as usize];
        inst.phase = Phase::Terminated;
        inst.ready = false;
        inst.available = false;
        inst.epoch += 1;
        if let Some(p) = self.active.iter().position(|&a| a == id) {
            self.active.remove(p);
        }
    }

    /// Instances of `version` to delete when scaling down by `n`, in the order of the
    /// ReplicaSet controller's `ActivePods` ranking: not ready before ready, then the
    /// most recently ready, then more restarts, then the newest.
    pub fn victims(&self, version: u8, n: usize) -> Vec<u32> {
        let mut c: Vec<&Instance> = self
            .active
            .iter()
            .map(|&id| &self.instances[id as usize])
            .filter(|i| i.version == version && !i.deleting)
            .collect();
        c.sort_by_key(|i| {
            (
                i.ready,
                std::cmp::Reverse(i.ready_since.unwrap_or(Time::ZERO)),
                std::cmp::Reverse(i.restarts),
                std::cmp::Reverse(i.created),
                std::cmp::Reverse(i.id),
            )
        });
        c.into_iter().take(n).map(|i| i.id).collect()
    }

    /// Requests in service or waiting on instances of `version`.
    pub fn work_on(&self, version: u8) -> usize {
        self.active
            .iter()
            .map(|&id| &self.instances[id as usize])
            .filter(|i| i.version == version)
            .map(|i| i.serving() + i.queue.len())
            .sum()
    }
}
