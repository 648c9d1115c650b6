//! Printer transports (a device path, raw TCP port 9100, a CUPS queue) and print jobs that
//! fall back to a PNG in the data folder.

pub mod batch;
pub mod job;
pub mod transport;

pub use job::{PrintJob, PrintOutcome};
pub use transport::{PrintError, Timeouts};
