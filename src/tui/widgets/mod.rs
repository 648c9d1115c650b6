//! Widgets shared by screens.

pub mod input;

/// The next (or previous) item of a Tab order, wrapping around.
pub fn cycle<T: PartialEq + Copy>(order: &[T], current: T, forward: bool) -> T {
    let n = order.len();
    let i = order.iter().position(|&f| f == current).unwrap_or(0);
    order[if forward {
        (i + 1) % n
    } else {
        (i + n - 1) % n
    }]
}
