//! One module per screen: its state, its key handling (returning what it wants done), and a
//! render function that only reads the state.

pub mod dashboard;
pub mod done;
pub mod form;
pub mod records;
pub mod setup;
pub mod unlock;
pub mod upload;
