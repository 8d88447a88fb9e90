//! The server end to end over real HTTP on 127.0.0.1: one test binary, grouped by concern.

mod binary;
mod helpers;
mod includes;
mod metrics;
mod overlay;
mod serving;
mod spa;
mod traversal;
