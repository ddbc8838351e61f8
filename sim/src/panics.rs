//! Turning a panic inside a node's handler into a readable report.
//!
//! The standard panic hook prints to stderr, where a report cannot use it.
//! [`install_hook`] replaces it with one that remembers the message and the
//! source location of the last panic on this thread; the simulator takes it
//! after catching the unwind and names the node and handler in its report.

use std::cell::{Cell, RefCell};
use std::panic;
use std::sync::Once;

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Replaces the panic hook, once per process, with one that records the
/// message and location instead of printing them. Panics outside of
/// simulations (a failing assertion in a test) are still printed.
pub fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let message = payload_text(info.payload());
            let text = match info.location() {
                Some(loc) => format!(
                    "{message} (at {}:{}:{})",
                    loc.file(),
                    loc.line(),
                    loc.column()
                ),
                None => message,
            };
            if IN_HANDLER.with(Cell::get) {
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(text));
            } else {
                default(info);
            }
        }));
    });
}

thread_local! {
    /// Whether a handler is running on this thread: a `Cell`, not a
    /// `RefCell`, since it is set and reset around every handler call.
    static IN_HANDLER: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, catching a panic and returning its message (with its source
/// location when the hook is installed). Calls may nest.
#[inline]
pub fn catch<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    let outer = IN_HANDLER.replace(true);
    let result = panic::catch_unwind(panic::AssertUnwindSafe(f));
    IN_HANDLER.set(outer);
    result.map_err(|payload| {
        LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| payload_text(&*payload))
    })
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-text payload".to_string()
    }
}
