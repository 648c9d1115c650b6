//! How the console's pages read their filter fields (the dashboard's, the member list's and
//! its export's, the audit log's) and write them back into links, the same way on every page.

use chrono::NaiveDate;

use crate::server::refusal::Refusal;

/// A text field: trimmed, empty as "no filter", cut at 200 characters.
pub fn some(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.chars().take(200).collect())
}

/// A date field: empty is "no bound"; anything else must be `YYYY-MM-DD` (else `bad`, the
/// refusal naming the field).
pub fn date(s: &str, bad: Refusal) -> Result<Option<NaiveDate>, Refusal> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| bad)
}

/// `k=v&…` of the fields given, empty ones left out, values percent-encoded.
pub fn url_pairs(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| {
            format!(
                "{k}={}",
                percent_encoding::utf8_percent_encode(v.trim(), percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_field_is_empty_or_a_date_else_its_refusal() {
        assert_eq!(date(" ", Refusal::BadFrom), Ok(None));
        assert_eq!(
            date("2026-11-01", Refusal::BadFrom),
            Ok(NaiveDate::from_ymd_opt(2026, 11, 1))
        );
        assert_eq!(date("1.11.2026", Refusal::BadTo), Err(Refusal::BadTo));
    }

    #[test]
    fn links_leave_out_empty_fields_and_encode_the_rest() {
        assert_eq!(
            url_pairs(&[("q", "王 伟"), ("union", " "), ("from", "2026-11-01")]),
            "q=%E7%8E%8B%20%E4%BC%9F&from=2026%2D11%2D01"
        );
    }
}
