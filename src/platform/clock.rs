//! Time and ids: wall-clock milliseconds, a monotonic clock for rates, UUID v7 message ids,
//! and the local time zone's offset.

use framechat_wire::Uuid;

use crate::error::AppError;

/// Current time, unix milliseconds.
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// A monotonic clock in milliseconds (`performance.now()`), for rates.
pub fn mono_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or_else(js_sys::Date::now, |p| p.now())
}

/// A UUID v7 from the clock and `crypto.getRandomValues`.
pub fn new_id() -> Result<Uuid, AppError> {
    let mut random = [0u8; 10];
    super::window()?
        .crypto()?
        .get_random_values_with_u8_array(&mut random)?;
    Ok(uuid::Builder::from_unix_timestamp_millis(now_ms(), &random).into_uuid())
}

/// Local time offset in minutes (east of UTC positive).
pub fn local_offset_minutes() -> i64 {
    -(js_sys::Date::new_0().get_timezone_offset() as i64)
}

/// A room name nobody will guess: `p-` and 16 characters of base32 (80 random bits).
pub fn random_room_name() -> Result<String, AppError> {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut random = [0u8; 16];
    super::window()?
        .crypto()?
        .get_random_values_with_u8_array(&mut random)?;
    let name: String = random
        .iter()
        .map(|b| char::from(ALPHABET.get(usize::from(b & 31)).copied().unwrap_or(b'a')))
        .collect();
    Ok(format!("p-{name}"))
}
