//! The parser's limits, driven directly: a line may wait for its `\r\n`
//! up to `MAX_LINE` bytes and no further, and a command's claimed count
//! costs no memory before its elements arrive.
//!
//! The second is measured: this test binary's allocator records, per
//! thread, the largest block asked for while a flag is up, so a parser that
//! reserves room for the million elements a client merely announced is
//! seen doing it (a server would do it again on every read of the command).

use crate::subject::cache::server::{parse_command, ProtocolError, MAX_ARGS, MAX_LINE};
use dscheck::{ensure, Failure, Property};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

pub(super) const LIMITS: Property = Property {
    name: "the parser waits for a line of up to MAX_LINE bytes, refuses a longer one, and reserves no room for elements that have not arrived",
    hint: "read_line: without a \\r\\n, Ok(None) while at most MAX_LINE bytes wait, Err(LineTooLong) once more do; parse_command: Vec::with_capacity(count.min(16)), not the count the client claims",
    when: &[],
};

/// The most a parse of a short command may ask for at once: room for a
/// few elements, far below the count announced.
const SMALL: usize = 64 * 1024;

/// A line that waits for its `\r\n`: `*` or, after a whole `*1` line, `$`,
/// then digits, `rest` bytes from the line's start.
fn waiting(array: bool, rest: usize) -> Vec<u8> {
    let mut bytes = if array {
        Vec::new()
    } else {
        b"*1\r\n".to_vec()
    };
    bytes.push(if array { b'*' } else { b'$' });
    bytes.resize(bytes.len() + rest - 1, b'1');
    bytes
}

pub(super) fn parser_limits() -> Result<(), Failure> {
    for (array, what) in [(true, "a *count line"), (false, "a $length line")] {
        let at_limit = parse_command(&waiting(array, MAX_LINE));
        ensure(at_limit == Ok(None), LIMITS, || {
            format!("{what} of exactly MAX_LINE ({MAX_LINE}) bytes, its \\r\\n not yet come, was answered {at_limit:?}, expected Ok(None): only more than MAX_LINE bytes is too long")
        })?;
        let over = parse_command(&waiting(array, MAX_LINE + 1));
        ensure(over == Err(ProtocolError::LineTooLong), LIMITS, || {
            format!("{what} of MAX_LINE + 1 bytes without its \\r\\n was answered {over:?}, expected Err(LineTooLong)")
        })?;
    }
    let announced = format!("*{MAX_ARGS}\r\n$3\r\nabc\r\n");
    let (got, largest) = measured(|| parse_command(announced.as_bytes()));
    ensure(got == Ok(None), LIMITS, || {
        format!("a command announcing {MAX_ARGS} elements, one of them arrived, was answered {got:?}, expected Ok(None)")
    })?;
    ensure(largest <= SMALL, LIMITS, || {
        format!("parsing a command that announces {MAX_ARGS} elements, of which one has arrived, asked for a block of {largest} bytes at once: room for what the client claims, not for what is there")
    })
}

/// What `f` returns, and the largest block this thread asked for meanwhile.
fn measured<T>(f: impl FnOnce() -> T) -> (T, usize) {
    WATCHING.with(|w| w.set(true));
    LARGEST.with(|l| l.set(0));
    let result = f();
    WATCHING.with(|w| w.set(false));
    (result, LARGEST.with(Cell::get))
}

thread_local! {
    static WATCHING: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

/// The system allocator, noting the largest block asked for on a thread
/// that is being measured.
struct Measuring;

fn note(size: usize) {
    // `try_with`: a thread being torn down still allocates.
    let _ = WATCHING.try_with(|w| {
        if w.get() {
            let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
        }
    });
}

// SAFETY: every call is passed on to `System` unchanged; `note` only reads
// and writes two thread-local `Cell`s of plain integers, which allocate
// nothing.
unsafe impl GlobalAlloc for Measuring {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Measuring = Measuring;
