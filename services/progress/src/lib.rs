//! Regional progress: how far each province and kabupaten/kota has come, now and as of any
//! past moment, built from the events of enrollment, scheduling and certification; each
//! worker's history for auditors; and the replay that rebuilds it all from the logs.
//!
//! The same rooms as every service:
//!
//! - [`domain`]: the pure core — what an event means for a worker's standing, which counts
//!   move when it changes (derived, never hand-incremented), the plan of rows a batch writes,
//!   the monthly roll-up and the in-memory sums, and what can be asked.
//! - [`wire`]: the protobuf side — the events of the three services read into what progress
//!   needs, and the steps of a worker's history read back from the logs.
//! - [`projections`]: the model in its database — batches written with their checkpoints,
//!   the live projection (run by the read side's one `Projector`), the questions in SQL, and
//!   the replay into fresh tables and the swap.
//! - [`service`]: the answers — rates, targets, series, histories, as-of reads.
//! - [`http`]: the routes and their OpenAPI document.

pub mod domain;
pub mod error;
pub mod http;
pub mod projections;
pub mod service;
pub mod wire;

pub use domain::calendar::day_of;
pub use domain::measure::{ALL_SCHEMES, Key, Measure};
pub use domain::query::{AsOf, Filter, Scope};
pub use error::ProgressError;
pub use projections::model::{Applied, ProgressModel};
pub use projections::replay::{ReplayReport, Source, replay};
pub use service::{Figures, Month, Progress, RegionReport};
