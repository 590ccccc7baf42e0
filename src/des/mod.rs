//! The discrete-event core: simulated time, the event queue and keyed randomness. Imports
//! nothing else of the crate.

pub mod queue;
pub mod rng;
pub mod time;
