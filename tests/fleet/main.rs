//! Nodes and portals together: real `weir portal` processes, real managed `weir proxy`
//! nodes, real backends on 127.0.0.1. Enrollment, signed pushes, tampering, offline survival,
//! restarts from disk, replicas.

mod dashboard;
mod offline;
mod push;
mod replica;
mod support;
mod tamper;
mod up;

use weir_testkit::NodeBuilder;

/// A node run from this package's `weir` binary.
pub fn node() -> NodeBuilder {
    NodeBuilder::new(env!("CARGO_BIN_EXE_weir"))
}
