//! Printer transports: a device path, raw TCP (port 9100) and a CUPS queue.

pub mod uri;

pub use uri::PrinterUri;
