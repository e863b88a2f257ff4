//! The WebSocket `Origin` check: a browser page may open a room only if it
//! was served by this relay (its origin's host is the request's `Host`, or
//! the `X-Forwarded-Host` a proxy such as `trunk serve` sets), or its origin
//! is listed with `--allow-origin`. A request without `Origin` comes from a
//! non-browser client (browsers always send it on WebSocket handshakes) and
//! passes: the check protects browsers' users from other sites' pages
//! (cross-site WebSocket hijacking), not the relay from programs.

use axum::http::HeaderMap;
use axum::http::header::{HOST, ORIGIN};

/// Whether a handshake with `headers` may proceed.
pub(crate) fn allowed(headers: &HeaderMap, allow: &[String]) -> bool {
    let Some(origin) = headers.get(ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin = origin.trim().trim_end_matches('/');
    if allow
        .iter()
        .any(|a| a == "*" || a.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let Some(host) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        // "null" (sandboxed pages, file:) and other schemes.
        return false;
    };
    // Browsers cannot set X-Forwarded-Host on a WebSocket handshake, so a
    // page cannot use it to pass; proxies set it to the host they serve.
    [
        HOST,
        axum::http::HeaderName::from_static("x-forwarded-host"),
    ]
    .iter()
    .filter_map(|name| headers.get(name)?.to_str().ok())
    .any(|h| h.trim().eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, axum::http::HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn same_origin_proxy_and_allow_list() {
        let none: &[String] = &[];
        assert!(allowed(&headers(&[("host", "a.test:8080")]), none));
        assert!(allowed(
            &headers(&[("host", "a.test:8080"), ("origin", "http://a.test:8080")]),
            none
        ));
        assert!(allowed(
            &headers(&[("host", "A.test"), ("origin", "https://a.TEST")]),
            none
        ));
        assert!(!allowed(
            &headers(&[("host", "a.test:8080"), ("origin", "http://evil.test")]),
            none
        ));
        assert!(!allowed(
            &headers(&[("host", "a.test:8080"), ("origin", "http://a.test:8081")]),
            none
        ));
        assert!(!allowed(
            &headers(&[("host", "a.test"), ("origin", "null")]),
            none
        ));
        // trunk serve: Host is the backend, X-Forwarded-Host the page's.
        assert!(allowed(
            &headers(&[
                ("host", "127.0.0.1:8080"),
                ("x-forwarded-host", "127.0.0.1:8081"),
                ("origin", "http://127.0.0.1:8081")
            ]),
            none
        ));
        let allow = vec!["http://b.test:3000/".to_owned()];
        assert!(allowed(
            &headers(&[("host", "a.test"), ("origin", "http://b.test:3000")]),
            &allow
        ));
        assert!(allowed(
            &headers(&[("host", "a.test"), ("origin", "http://x.test")]),
            &["*".to_owned()]
        ));
    }
}
