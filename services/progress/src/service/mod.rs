//! The questions progress answers: a region's figures with rates and targets, its children,
//! its monthly series, and a worker's history ([`Progress`]). Reads only: the projection
//! ([`crate::projections`]) is what writes the model.

mod reads;

pub use reads::{Figures, Month, Progress, RegionReport};
