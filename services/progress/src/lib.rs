//! Regional progress: how far each province and kabupaten/kota has come, now and as of any
//! past moment, built from the events of enrollment, scheduling and certification; each
//! worker's history for auditors; and the replay that rebuilds it all from the logs.
//!
//! - [`change`] and [`worker`] are the pure core: what an event means for a worker's standing,
//!   and which counts move when it changes (derived, never hand-incremented).
//! - [`plan`] turns a batch of events into rows; [`model`] writes them in one transaction with
//!   the checkpoints (idempotent under redelivery; `bulk` and `upserts` write each table the
//!   fastest way its backend has) and answers queries; [`runner`] feeds it live
//!   from the embedded log or JetStream; [`replay`] rebuilds it into fresh tables and swaps,
//!   summing the counts and the roll-up in memory as it goes (`sums`).
//! - [`months`] rolls the dated facts up per month, so national series and as-of figures
//!   read months instead of every fact; `questions` picks the tables a question is summed
//!   from.
//! - [`reads`] answers with rates, targets, series and histories; [`http`] serves them.

mod bulk;
pub mod change;
pub mod db;
pub mod error;
pub mod history;
pub mod http;
mod load;
pub mod measure;
pub mod model;
pub mod months;
pub mod openapi;
pub mod plan;
pub mod query;
mod questions;
pub mod reads;
pub mod replay;
pub mod runner;
mod sums;
pub mod tables;
mod upserts;
pub mod worker;

pub use error::ProgressError;
pub use measure::{ALL_SCHEMES, Key, Measure};
pub use model::{Applied, ProgressModel, ProgressStore};
pub use query::{AsOf, Filter, Scope};
pub use reads::{Figures, Month, Progress, RegionReport};
pub use replay::{ReplayReport, Source, replay};
pub use runner::project;
