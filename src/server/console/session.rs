//! Office users' passwords and console sessions: Argon2id hashes, a random session id in an
//! HttpOnly + SameSite=Strict cookie (Secure under TLS) of which the database keeps only the
//! SHA-256, a CSRF token per session, idle and absolute expiry.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use cookie::{Cookie, SameSite};
use subtle::ConstantTimeEq;

pub const SESSION_COOKIE: &str = "booth_session";
pub const LANG_COOKIE: &str = "booth_lang";
/// A session unused this long ends (seconds).
pub const IDLE_LIMIT: i64 = 30 * 60;
/// And any session ends this long after login, used or not.
pub const ABSOLUTE_LIMIT: i64 = 12 * 60 * 60;
/// `seen_at` is written at most this often: a page view is not a database write each time.
pub const TOUCH_EVERY: i64 = 60;

/// 32 random bytes, base64url: a session id or a CSRF token.
pub fn random_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(data_encoding::BASE64URL_NOPAD.encode(&bytes))
}

/// What the database keeps of a session id: a stolen copy of the table opens nothing.
pub fn id_hash(id: &str) -> String {
    crate::protocol::token_hash(id)
}

/// An Argon2id PHC string for `password` (the crate's recommended cost).
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// True when `password` matches the stored hash; a damaged hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// A fixed hash checked when the user does not exist, so an unknown name takes as long to
/// refuse as a wrong password (no user enumeration by timing).
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not a password of anyone").unwrap_or_default())
}

/// A password an office user may have: 10 to 200 characters.
pub fn acceptable_password(p: &str) -> bool {
    (10..=200).contains(&p.chars().count())
}

/// An office user's name: 1 to 64 letters, digits, `.`, `_`, `-` (also CJK letters).
pub fn valid_user_name(n: &str) -> bool {
    let len = n.chars().count();
    (1..=64).contains(&len)
        && n.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

pub fn same_secret(a: &str, b: &str) -> bool {
    !a.is_empty() && a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// The session cookie: scoped to the whole site, never readable by script, never sent by
/// another site's form or link.
pub fn session_cookie(id: &str, secure: bool) -> String {
    Cookie::build((SESSION_COOKIE, id.to_string()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .build()
        .to_string()
}

/// Ends the session cookie in the browser.
pub fn cleared_session_cookie(secure: bool) -> String {
    Cookie::build((SESSION_COOKIE, ""))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(cookie::time::Duration::ZERO)
        .build()
        .to_string()
}

pub fn lang_cookie(lang: crate::i18n::Lang, secure: bool) -> String {
    Cookie::build((LANG_COOKIE, lang.code()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(cookie::time::Duration::days(365))
        .build()
        .to_string()
}

/// The value of cookie `name` in a request's `Cookie` headers.
pub fn cookie_value(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let h = hash_password("Office-Pass-2026").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("Office-Pass-2026", &h));
        assert!(!verify_password("Office-Pass-2027", &h));
        assert!(!verify_password("Office-Pass-2026", "garbage"));
        assert!(!verify_password("x", dummy_hash()));
    }

    #[test]
    fn the_session_cookie_is_http_only_strict_and_secure_under_tls() {
        let c = session_cookie("abc", true);
        for part in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
            assert!(c.contains(part), "{c}");
        }
        assert!(!session_cookie("abc", false).contains("Secure"));
    }

    #[test]
    fn secrets_compare_whole_and_never_empty() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("", ""));
        assert!(!same_secret("abc", "ab"));
    }

    #[test]
    fn user_names_are_plain() {
        assert!(valid_user_name("zhangli"));
        assert!(valid_user_name("张丽"));
        assert!(!valid_user_name(""));
        assert!(!valid_user_name("a b"));
        assert!(!valid_user_name("<script>"));
    }
}
