//! One database handle for both of kesos' backends. Every table kesos keeps — the event store's
//! log, a consumer's bookkeeping, a read model — is written in SQL that PostgreSQL and SQLite
//! both accept (`$n` parameters, `ON CONFLICT`, `CASE`), so the code that runs it is written once
//! against [`Db`] and [`Tx`], and the backend is matched here, in one place, instead of in a
//! macro or a generic per crate. What truly differs (PostgreSQL's `COPY`, SQLite's
//! `BEGIN IMMEDIATE`, how an instant is stored) is named here too.
//!
//! This crate sits below the event store, the bus and the read side, so all three share it.

pub mod convert;
pub mod db;
pub mod paging;

pub use convert::{InstantOutOfRange, from_unix_micros, to_i64, to_u64, unix_micros};
pub use db::{Backend, Bindable, Db, Migrations, Readable, Row, Statement, Tx};
pub use paging::{Page, PageQuery, Value, Where};
