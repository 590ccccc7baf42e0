//! The instance engine's events, ordered by [`crate::des::queue::EventQueue`].

/// What happens to an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Life {
    ContainerStart,
    AppUp,
    /// The application crashes while starting (crash loop).
    StartupCrash,
    Ready,
    Available,
    /// Crash after some uptime (leak, random failure).
    Crash,
    DrainDeadline,
    /// Readiness probes have failed `failureThreshold` times: out of the endpoints.
    ProbeFailed,
    /// An in-place update stops the process (requests still in it fail) and installs the
    /// new revision; the container starts again after the instance's `install` time.
    InPlaceStop,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    ServiceDone {
        inst: u32,
        slot: u32,
        generation: u32,
    },
    Timeout {
        slot: u32,
        generation: u32,
    },
    Life {
        inst: u32,
        epoch: u32,
        what: Life,
    },
    /// A controller asked to be woken.
    Wake,
    /// The release starts.
    Release,
    /// Scheduled fault number `n` of the scenario.
    Fault(u32),
    /// A zone comes back.
    ZoneUp(u16),
    /// A timed fault effect starts or ends.
    FaultChange,
    /// Scheduled command number `n` of the scenario.
    Command(u32),
    /// The HorizontalPodAutoscaler's sync.
    Autoscale,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Events stay small: the heap moves them on every push and pop.
    #[test]
    fn events_are_small() {
        assert!(std::mem::size_of::<Event>() <= 16);
    }
}
