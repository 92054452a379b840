//! The certification service (being built).
