//! End-to-end tests across kesos services live in `tests/` beside this file: each journey runs
//! on real PostgreSQL and NATS JetStream (one store per service, relays, durable consumers) and
//! again in the embedded mode (one SQLite file, the log as the feed). This library is empty on
//! purpose; it only gives the tests a package.
