//! What a member list's query string means: the filters of `/members`, which its export
//! (`/members/export`) takes the same way, and how a search is named in the audit log.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::full_number::FullNumber;
use crate::card::MemberNo;
use crate::server::console::mask;

use crate::server::console::filters::{date, some, url_pairs};
use crate::server::db::search::{CardStatus, MemberFilter, Needle, Review, Sort, Start};
use crate::server::refusal::Refusal;
use crate::server::unions::Scope;

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
    /// The filter of this view within `scope` (the viewer's part of the tree: every list
    /// and export is of it, never of the whole office's).
    pub fn filter(&self, scope: &Scope) -> Result<MemberFilter, Refusal> {
        Ok(MemberFilter {
            scope: scope.clone(),
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

/// What the audit log says a search was, as fields: its kind and filters, never a typed
/// name, phone or document number (a member number only when whole; anything else typed
/// that looks like one is masked, since an ID number typed there reads as one).
pub fn describe(f: &MemberFilter) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        fields.insert(k.to_string(), v);
    };
    match &f.needle {
        None | Some(Needle::All) => {}
        // (a mobile number can pass a member number's check: 1 in 32 do)
        Some(Needle::MemberNo(p))
            if p.parse::<MemberNo>().is_ok() && FullNumber::of(p).is_none() =>
        {
            put("q", "member_no".into());
            put("member_no", p.clone());
        }
        Some(Needle::MemberNo(p)) => {
            put("q", "member_no_prefix".into());
            put("member_no_prefix", mask::id_number(p));
        }
        Some(Needle::Phone { full: None, .. }) => put("q", "phone_tail".into()),
        Some(Needle::Phone { full: Some(_), .. }) => put("q", "phone".into()),
        Some(Needle::Text(_)) => put("q", "name_or_employer".into()),
        // the number masked, as a list shows it (never the whole number: SPEC §8)
        Some(Needle::Document { keys, .. }) => {
            let number = keys
                .first()
                .map_or("", |k| k.rsplit(':').next().unwrap_or(k));
            put("q", "document".into());
            put("document", mask::id_number(number));
        }
    }
    for (k, v) in [
        ("union", &f.union),
        ("place", &f.place),
        ("device", &f.device),
        ("form", &f.form),
    ] {
        if let Some(v) = v {
            // a whole phone or ID number typed into a filter is not kept either
            put(
                k,
                FullNumber::of(v).map_or_else(|| v.clone(), |n| n.masked()),
            );
        }
    }
    if let Some(d) = f.from {
        put("from", d.to_string());
    }
    if let Some(d) = f.to {
        put("to", d.to_string());
    }
    if let Some(r) = f.review {
        put("review", r.code().into());
    }
    if let Some(st) = f.status {
        put("status", st.code().into());
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No typed phone or ID number is kept: not as a member number (a mobile number that
    /// passes a member number's check), nor as a member number's beginning, nor in a filter.
    #[test]
    fn a_search_is_described_without_the_numbers_typed() {
        let phone = (0..10_000u32)
            .map(|n| format!("1390000{n:04}"))
            .find(|p| p.parse::<MemberNo>().is_ok())
            .expect("one in 32 passes");
        let id = "11010519491231002X";
        for q in [phone.as_str(), id, &id[..12]] {
            let list = ListQuery {
                q: q.into(),
                place: id.into(),
                union: phone.clone(),
                ..Default::default()
            };
            let fields = describe(&list.filter(&Scope::All).unwrap());
            let text = format!("{fields:?}");
            assert!(
                !text.contains(&phone) && !text.contains(&id[..12]),
                "{q}: {text}"
            );
        }
        let whole = MemberNo::new("K7M2QX", 42).unwrap().as_str().to_string();
        let list = ListQuery {
            q: whole.clone(),
            ..Default::default()
        };
        assert_eq!(
            describe(&list.filter(&Scope::All).unwrap())["member_no"],
            whole
        );
    }
}
