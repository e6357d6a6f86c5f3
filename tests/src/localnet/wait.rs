//! Bounded polling.

use std::time::{Duration, Instant};

use super::error::{Error, Result};

/// How often a condition is looked at again.
pub const POLL_EVERY: Duration = Duration::from_millis(200);

/// Calls `probe` until it answers `Ok(Ok(value))` or `timeout` passes. `Ok(Err(seen))` means
/// "not yet" and says what was seen (the timeout error quotes the last one); `Err` stops at
/// once.
pub fn until<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Result<std::result::Result<T, String>>,
) -> Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        let seen = match probe()? {
            Ok(v) => return Ok(v),
            Err(seen) => seen,
        };
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: what.to_owned(),
                secs: timeout.as_secs(),
                detail: format!("last seen: {seen}"),
            });
        }
        std::thread::sleep(POLL_EVERY);
    }
}
