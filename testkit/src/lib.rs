//! Test helpers for Weir's integration tests: real HTTP/1.1 backends on 127.0.0.1:0
//! ([`Backend`]), a real `weir proxy` process ([`Node`]), a throwaway certificate authority
//! ([`TestCa`]), a bounded concurrent load loop ([`hammer`]) and small geo databases
//! ([`mmdb`]), the WAF corpus runner ([`waf_corpus`]), a real SMTP server process that keeps
//! what it receives ([`smtp::SmtpSink`]) and a real PostgreSQL with a throwaway database per
//! test ([`postgres::TestPostgres`]).
#![forbid(unsafe_code)]

mod backend;
mod certs;
mod load;
pub mod mmdb;
mod node;
pub mod postgres;
pub mod smtp;
pub mod waf_corpus;

pub use backend::Backend;
pub use certs::TestCa;
pub use load::{get, hammer, Outcome};
pub use node::{free_addr, Node, NodeBuilder};
