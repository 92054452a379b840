//! The progress model in its database: the only code that writes it, through the one database
//! handle of the read side ([`kesos_readside::Db`]).
//!
//! - [`model`]: [`ProgressModel`](model::ProgressModel) applies a batch in one transaction with
//!   its checkpoints (idempotent under redelivery; `batch` reads what the plan needs and
//!   writes it) and answers the questions `questions` turns into SQL and `read` runs.
//! - [`tables`] names the swappable table sets, `schema` creates them; `dialect` holds the
//!   little that differs per backend, `postgres` PostgreSQL's bulk writes (`COPY`, `UNNEST`),
//!   `values` the multi-row `INSERT`s both backends take.
//! - [`live`]: the model as a [`kesos_readside::Projection`], run live by the read side's
//!   one [`kesos_readside::Projector`] from the embedded log or JetStream.
//! - [`replay`]: rebuilds the model into fresh tables (`load` writes it in lanes, summing the
//!   counts and the roll-up in memory) and swaps them in.

mod batch;
mod dialect;
pub mod live;
mod load;
pub mod model;
mod postgres;
mod questions;
mod read;
pub mod replay;
mod schema;
pub mod tables;
mod values;
