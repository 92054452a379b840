//! The progress model in its database: the only code that writes it.
//!
//! - [`model`]: [`ProgressModel`](model::ProgressModel) applies a planned batch in one
//!   transaction with its checkpoints (idempotent under redelivery) and answers the questions
//!   [`questions`] turns into SQL; [`tables`] names and creates the swappable table sets.
//! - [`db`], `bulk` and `upserts`: each table written the fastest way its backend has.
//! - [`runner`]: the live projection from the embedded log or JetStream.
//! - [`replay`]: rebuilds the model into fresh tables (`load` writes it in lanes, summing the
//!   counts and the roll-up in memory) and swaps them in.

mod bulk;
pub mod db;
mod load;
pub mod model;
mod questions;
pub mod replay;
pub mod runner;
pub mod tables;
mod upserts;
