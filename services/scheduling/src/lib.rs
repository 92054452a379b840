//! The exam scheduling service (being built).
