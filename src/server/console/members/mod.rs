//! `/members`: search (name, member number, phone tail, employer), filters, keyset paging,
//! ID and phone masked, review states; a member's page, where an admin reveals the full ID
//! and phone (recorded), sets the review state, corrects the record or erases the person
//! (PIPL). Every view of personal data is in the audit log, with how many records it showed.
//!
//! - [`query`]: what a list's query string means (the export and the audit log borrow it).
//! - [`list`]: the list page and its htmx partial; [`full_number`]: a search by a whole
//!   phone or document number is an admin's, limited and recorded.
//! - [`detail`]: a member's page.
//! - [`actions`]: an admin's reveal, review, correction and erasure.

pub mod actions;
pub mod detail;
pub mod full_number;
pub mod list;
pub mod query;

use super::Tr;
use crate::server::db::search::Review;

/// How a review state reads on the pages and in the export.
pub fn review_label(tr: Tr, r: Review) -> &'static str {
    match r {
        Review::Pending => tr.t("console.review.pending"),
        Review::Approved => tr.t("console.review.approved"),
        Review::Questioned => tr.t("console.review.questioned"),
    }
}

/// Every review state with its label, for a form's choices.
pub fn review_choices(tr: Tr) -> Vec<(&'static str, &'static str)> {
    Review::ALL
        .iter()
        .map(|r| (r.code(), review_label(tr, *r)))
        .collect()
}
