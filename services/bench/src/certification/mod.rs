//! `kesos bench certification` (being built).
