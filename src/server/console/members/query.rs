//! What a member list's query string means: the filters of `/members`, which its export
//! (`/members/export`) takes the same way, and how a search is named in the audit log.

use serde::Deserialize;

use crate::member::document::{mask_number, mask_short};
use crate::server::console::filters::{date, some, url_pairs};
use crate::server::db::search::{CardStatus, MemberFilter, Needle, Review, Sort, Start};
use crate::server::refusal::Refusal;

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct ListQuery {
    pub q: String,
    pub union: String,
    pub place: String,
    pub device: String,
    pub from: String,
    pub to: String,
    pub review: String,
    pub form: String,
    pub status: String,
    pub sort: String,
    pub before: Option<i64>,
    /// The position of a page in a list not ordered newest first.
    pub skip: Option<i64>,
}

impl ListQuery {
    pub fn filter(&self) -> Result<MemberFilter, Refusal> {
        Ok(MemberFilter {
            needle: Some(Needle::parse(&self.q.chars().take(100).collect::<String>())),
            union: some(&self.union),
            place: some(&self.place),
            device: some(&self.device),
            from: date(&self.from, Refusal::BadFrom)?,
            to: date(&self.to, Refusal::BadTo)?,
            review: Review::parse(self.review.trim()),
            form: some(&self.form),
            status: CardStatus::parse(self.status.trim()),
        })
    }

    pub fn sort(&self) -> Sort {
        Sort::parse(self.sort.trim()).unwrap_or_default()
    }

    /// Where this page starts.
    pub fn start(&self) -> Option<Start> {
        match self.sort() {
            Sort::Newest => self.before.map(Start::Before),
            _ => self.skip.map(Start::Offset),
        }
    }

    /// Any filter besides the search box (the filters' panel then starts open).
    pub fn has_filters(&self) -> bool {
        [
            &self.union,
            &self.place,
            &self.device,
            &self.from,
            &self.to,
            &self.review,
            &self.form,
            &self.status,
        ]
        .iter()
        .any(|v| !v.trim().is_empty())
    }

    /// The query string of this view without the page position (for links and exports).
    pub fn view_query(&self) -> String {
        let mut s = url_pairs(&[
            ("q", &self.q),
            ("union", &self.union),
            ("place", &self.place),
            ("device", &self.device),
            ("from", &self.from),
            ("to", &self.to),
            ("review", &self.review),
            ("form", &self.form),
            ("status", &self.status),
            ("sort", &self.sort),
        ]);
        if s.is_empty() {
            s.push_str("x=");
        }
        s
    }
}

/// What the audit log says a search was: its kind and filters, never a typed name or phone.
pub fn describe(f: &MemberFilter) -> String {
    let mut parts = Vec::new();
    match &f.needle {
        None | Some(Needle::All) => {}
        Some(Needle::MemberNo(p)) => parts.push(format!("member_no={p}")),
        Some(Needle::Phone { .. }) => parts.push("q=phone".into()),
        Some(Needle::Text(_)) => parts.push("q=name_or_employer".into()),
        // the number masked, as a list shows it (never the whole number: SPEC §8)
        Some(Needle::Document { keys, .. }) => {
            let shown = keys.first().map_or(String::new(), |k| {
                let number = k.rsplit(':').next().unwrap_or(k);
                if number.chars().count() == 18 {
                    mask_number(number)
                } else {
                    mask_short(number)
                }
            });
            parts.push(format!("q=document:{shown}"));
        }
    }
    for (k, v) in [
        ("union", &f.union),
        ("place", &f.place),
        ("device", &f.device),
        ("form", &f.form),
    ] {
        if let Some(v) = v {
            parts.push(format!("{k}={v}"));
        }
    }
    if let Some(d) = f.from {
        parts.push(format!("from={d}"));
    }
    if let Some(d) = f.to {
        parts.push(format!("to={d}"));
    }
    if let Some(r) = f.review {
        parts.push(format!("review={}", r.code()));
    }
    if let Some(st) = f.status {
        parts.push(format!("status={}", st.code()));
    }
    parts.join(";")
}
