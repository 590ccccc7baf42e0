//! The world being simulated: users and traffic, the fleet, service times and version
//! defects, and the router. Plain state and pure functions; the engine in [`crate::sim`]
//! moves it through time.

pub mod autoscaler;
pub mod flags;
pub mod fleet;
pub mod gate;
pub mod router;
pub mod service;
pub mod traffic;
