//! Integration tests for the `tools` binary: the real built executable, run as a Job would run
//! it, asserted on exit codes, output, files and database rows. PostgreSQL is real (a fresh
//! database per test); Stripe is a local server speaking its webhook-endpoint API; S3 is moto's
//! S3-compatible server.

mod app_role;
mod backup;
mod db;
mod fake_stripe;
mod helpers;
mod probes;
mod s3;
mod stripe;
