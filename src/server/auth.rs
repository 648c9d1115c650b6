//! Device tokens: 256 random bits, URL-safe base64 (43 characters), shown once by
//! `server add-device`; the database keeps only their SHA-256.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;

/// A new token.
pub fn new_token() -> Result<String, getrandom::Error> {
    loop {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        let token = data_encoding::BASE64URL_NOPAD.encode(&bytes);
        // A leading `-` would read as an option on a command line (`--token -x…`).
        if !token.starts_with('-') {
            return Ok(token);
        }
    }
}

/// The bearer token of a request, if it has one that could be a token at all.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= 256)
        .then_some(token)
}

/// Device names are chosen by the office (`laptop-03`, `望京-1`): printable, short.
pub fn valid_device_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=64).contains(&n)
        && crate::member::text::first_hazard(name).is_none()
        && !name.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(!a.starts_with('-'));
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }

    #[test]
    fn bearer_parsing() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&h), None);
        assert!(valid_device_name("望京-1"));
        assert!(!valid_device_name("a b"));
        assert!(!valid_device_name(""));
    }
}
