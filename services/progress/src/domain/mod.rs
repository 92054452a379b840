//! The pure core of progress: no database, no protobuf, no clock.
//!
//! - [`change`] and [`worker`]: what an event means for a worker's standing, and which counts
//!   move when it changes (derived, never hand-incremented), in the [`measure`]s counted.
//! - [`plan`]: a batch of events turned into the rows that record it, the same for the live
//!   projection and the replay.
//! - [`months`] and `sums`: the monthly roll-up, batch by batch or summed in memory.
//! - [`query`], [`targets`], [`calendar`] and [`history`]: what can be asked, and the parts of
//!   an answer that need no database.

pub mod calendar;
pub mod change;
pub mod history;
pub mod measure;
pub mod months;
pub mod plan;
pub mod query;
pub(crate) mod sums;
pub mod targets;
pub mod worker;
