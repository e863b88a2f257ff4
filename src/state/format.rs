//! Text for the UI: sizes, clock times, metadata category labels, header-safe fields.

/// Human-readable byte size: "812 B", "4.2 KB", "11.9 MB", "12 MB". In integers: formatting
/// a float would bring Rust's float printing into the client (about 13 KB of WebAssembly).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let (mut unit, mut div) = (0, 1024u64);
    while bytes / div >= 1024 && unit + 1 < UNITS.len() {
        div *= 1024;
        unit += 1;
    }
    let name = UNITS.get(unit).copied().unwrap_or("TB");
    // Rounded as (10 * bytes + div / 2) / div would be, without its overflow (and in u64:
    // u128 would bring its own division and printing into the client, 1.5 KB).
    let (whole, rest) = (bytes / div, bytes % div);
    if whole < 10 {
        let tenths = whole * 10 + (rest * 10 + div / 2) / div;
        format!("{}.{} {name}", tenths / 10, tenths % 10)
    } else {
        format!("{} {name}", whole + (rest + div / 2) / div)
    }
}

/// "14:05" from unix milliseconds and the local offset in minutes (as JS `getTimezoneOffset`, negated).
pub fn clock(ts_ms: u64, offset_minutes: i64) -> String {
    let minutes = (ts_ms / 60_000) as i64 + offset_minutes;
    let of_day = minutes.rem_euclid(24 * 60);
    format!("{:02}:{:02}", of_day / 60, of_day % 60)
}

/// Human text for a scrubber category code (as sent in `Attachment::removed`).
pub fn category_label(code: &str) -> &'static str {
    framechat_scrub::Category::ALL
        .iter()
        .find(|c| c.code() == code)
        .map_or("other metadata", |c| c.label())
}

/// Distinct labels for a list of category codes, in first-seen order.
pub fn removed_labels<'a>(codes: impl IntoIterator<Item = &'a String>) -> Vec<&'static str> {
    let mut labels: Vec<&'static str> = Vec::new();
    for code in codes {
        let label = category_label(code);
        if !labels.contains(&label) {
            labels.push(label);
        }
    }
    labels
}

/// `s` without control characters, cut at a char boundary to at most `max` bytes (the
/// header's field limits); `fallback` if nothing is left.
pub fn fit_field(s: &str, max: usize, fallback: &str) -> String {
    let mut out = String::new();
    for c in s.trim().chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > max {
            break;
        }
        out.push(c);
    }
    if out.is_empty() {
        fallback.to_string()
    } else {
        out
    }
}

/// A short tag for a file shown as a download ("PDF", "ZIP", "FILE").
pub fn file_tag(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((_, ext))
            if (1..=4).contains(&ext.len()) && ext.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            ext.to_ascii_uppercase()
        }
        _ => "FILE".into(),
    }
}
