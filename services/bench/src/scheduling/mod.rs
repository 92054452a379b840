//! `kesos bench scheduling` (being built).
