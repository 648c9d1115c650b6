//! Member records in the store, by what is done with them:
//!
//! - [`row`]: a stored row as a [`StoredMember`] (the one mapping), the one look-up by member
//!   number, and the columns a validated record fills;
//! - [`register`]: registration, one transaction each or batched for import, the device key
//!   and the keyed person hash that finds duplicates;
//! - [`change`]: editing and voiding a record not yet at the office;
//! - [`list`]: search, filters and walks over many records.

mod change;
pub mod list;
pub mod register;
pub(crate) mod row;
#[cfg(test)]
mod upgrade_tests;

use chrono::{DateTime, FixedOffset, NaiveDate};
use rusqlite::Connection;
use serde::Serialize;
use uuid::Uuid;

use super::{Store, StoreError};
use crate::card::{Card, DeviceKey, MemberNo, payload_union};
use crate::i18n::Lang;
use crate::member::{BoothEvent, Gender, Member, State};
pub use list::{ListFilter, StateFilter, Summary, for_each_matching, search};
pub(crate) use register::ensure_device;
pub use register::{Batch, Registered};
pub(crate) use row::{COLUMNS, from_row};

/// What a record's ID number said (kept apart from the JSON so lists need not parse it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredFacts {
    pub gender: Option<Gender>,
    pub birth_date: Option<NaiveDate>,
    pub region: Option<String>,
}

/// A record as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMember {
    pub id: i64,
    pub uuid: Uuid,
    pub member_no: MemberNo,
    /// `None` once purged after upload and the retention period.
    pub member: Option<Member>,
    pub facts: StoredFacts,
    pub employment_form: Option<String>,
    pub needs: Vec<String>,
    pub event: BoothEvent,
    pub event_date: NaiveDate,
    pub consent_at: DateTime<FixedOffset>,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
    pub state: State,
    /// Why voided, or the server's rejection.
    pub state_reason: Option<String>,
    /// For `duplicate_person` answers: the member number the office already has.
    pub server_member_no: Option<String>,
    pub purged_at: Option<DateTime<FixedOffset>>,
    /// Registered by `booth import`, not at the booth (the office counts it as a member, not
    /// as a booth sign-up).
    pub imported: bool,
}

impl StoredMember {
    /// See [`crate::member::may_edit`].
    pub fn may_edit(&self) -> bool {
        crate::member::may_edit(self.state, self.member.is_some())
    }

    /// See [`crate::member::may_print`].
    pub fn may_print(&self) -> bool {
        crate::member::may_print(self.state, self.member.is_some())
    }

    /// What this record's card states (the union name as [`payload_union`] decides).
    pub fn card(&self, union_short: Option<&str>) -> Card {
        Card {
            member_no: self.member_no.clone(),
            union: payload_union(&self.event.union, union_short),
            issued: self.event_date,
        }
    }

    /// What the card's QR holds: the code, or its URL form when the laptop names the
    /// verification page's address (`verify_url`), so a phone camera opens the page.
    pub fn qr_text(
        &self,
        union_short: Option<&str>,
        verify_url: Option<&str>,
        key: &DeviceKey,
    ) -> Result<String, crate::card::payload::IssueError> {
        let code = self.payload(union_short, key)?;
        Ok(match verify_url {
            Some(base) => crate::card::trust::url_form(base, &code),
            None => code,
        })
    }

    /// The signed QR payload of this record's card.
    pub fn payload(
        &self,
        union_short: Option<&str>,
        key: &DeviceKey,
    ) -> Result<String, crate::card::payload::IssueError> {
        crate::card::payload::issue(&self.card(union_short), key)
    }
}

/// The person already registered here, for the "already a member" message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Existing {
    pub member_no: MemberNo,
    pub name: Option<String>,
    pub created_at: DateTime<FixedOffset>,
    pub state: State,
}

impl Existing {
    /// The name, safe to show (empty once purged).
    pub fn display_name(&self) -> std::borrow::Cow<'_, str> {
        self.name
            .as_deref()
            .map(crate::member::text::display_safe)
            .unwrap_or_default()
    }

    pub fn message(&self, lang: Lang) -> String {
        crate::t!(
            lang,
            "register.duplicate",
            name = self.display_name(),
            when = self.created_at.format("%Y-%m-%d %H:%M"),
            member_no = self.member_no
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("this person is already registered ({})", .0.member_no)]
    Duplicate(Box<Existing>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for RegisterError {
    fn from(e: rusqlite::Error) -> Self {
        RegisterError::Store(e.into())
    }
}

/// A record by member number on any connection to the store (a background thread's
/// [`Store::second_connection`]).
pub fn get_on(conn: &Connection, member_no: &MemberNo) -> Result<Option<StoredMember>, StoreError> {
    row::by_number(conn, member_no)
}

impl Store {
    pub fn get(&self, member_no: &MemberNo) -> Result<Option<StoredMember>, StoreError> {
        get_on(&self.conn, member_no)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::member::{MemberInput, validate};
    use crate::store::test_store as fast_store;

    #[test]
    fn a_day_or_an_employer_is_a_filter_anything_else_a_search() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        assert_eq!(
            ListFilter::parse(" 2026-11-24 "),
            Some(ListFilter::Date(day))
        );
        // full-width digits and at sign, as an IME types them
        assert_eq!(
            ListFilter::parse("２０２６-１１-２４"),
            Some(ListFilter::Date(day))
        );
        assert_eq!(
            ListFilter::parse("＠顺丰 速运"),
            Some(ListFilter::Employer("顺丰 速运".into()))
        );
        for search in ["", "@", "@  ", "2026-13-01", "葛婷", "2222", "5NC0DH"] {
            assert_eq!(ListFilter::parse(search), None, "{search}");
        }
    }

    fn input(id: &str) -> MemberInput {
        MemberInput {
            name: "葛婷婷".into(),
            id_number: id.into(),
            phone: "13800138000".into(),
            employer: "某公司".into(),
            consent: true,
            ..Default::default()
        }
    }

    fn event() -> BoothEvent {
        BoothEvent {
            union: "朝阳区总工会".into(),
            place: "望京".into(),
            operator: "李".into(),
        }
    }

    #[test]
    fn register_then_duplicate_then_void_then_again() {
        let (_d, mut store) = fast_store();
        let now = crate::store::now();
        let v = validate(&input("11010519491231002X"), now.date_naive()).unwrap();
        let m = store.register(&v, &event(), &now).unwrap();
        assert_eq!(m.member_no.device(), store.device_key().key_id());
        assert_eq!(store.get(&m.member_no).unwrap().unwrap(), m);
        match store.register(&v, &event(), &now) {
            Err(RegisterError::Duplicate(e)) => {
                assert_eq!(e.member_no, m.member_no);
                assert!(e.message(Lang::Zh).contains("葛婷婷"));
            }
            other => panic!("expected duplicate, got {other:?}"),
        }
        store.void(&m.member_no, "登记错了", &now).unwrap();
        let again = store.register(&v, &event(), &now).unwrap();
        assert_ne!(again.member_no, m.member_no);
        assert_eq!(again.member_no.seq(), m.member_no.seq() + 1);
    }

    #[test]
    fn search_by_name_prefix_phone_tail_and_number() {
        let (_d, mut store) = fast_store();
        let now = crate::store::now();
        let v = validate(&input("11010519491231002X"), now.date_naive()).unwrap();
        let m = store.register(&v, &event(), &now).unwrap();
        assert_eq!(store.search("葛", None, 10).unwrap().len(), 1);
        assert_eq!(store.search("8000", None, 10).unwrap().len(), 1);
        assert_eq!(
            store
                .search(&m.member_no.grouped()[..5].to_lowercase(), None, 10)
                .unwrap()
                .len(),
            1
        );
        assert_eq!(store.search("王", None, 10).unwrap().len(), 0);
        assert_eq!(store.search("*", None, 10).unwrap().len(), 0);
        assert_eq!(store.search("", None, 10).unwrap().len(), 1);
    }

    #[test]
    fn only_queued_or_rejected_records_change() {
        let (_d, mut store) = fast_store();
        let now = crate::store::now();
        let v = validate(&input("11010519491231002X"), now.date_naive()).unwrap();
        let m = store.register(&v, &event(), &now).unwrap();
        let mut edited = input("11010519491231002X");
        edited.employer = "另一家公司".into();
        let v2 = validate(&edited, now.date_naive()).unwrap();
        let u = store.update(&m.member_no, &v2, &now).unwrap();
        assert_eq!(u.member.unwrap().employer, "另一家公司");
        store
            .connection()
            .execute("UPDATE members SET state = 'uploaded'", [])
            .unwrap();
        assert!(matches!(
            store.update(&m.member_no, &v2, &now),
            Err(RegisterError::Store(StoreError::WrongState(
                State::Uploaded
            )))
        ));
        assert!(matches!(
            store.void(&m.member_no, "x", &now),
            Err(StoreError::WrongState(State::Uploaded))
        ));
    }
}

#[cfg(test)]
mod seq_tests {
    use crate::member::{MemberInput, validate};

    #[test]
    fn different_people_get_consecutive_numbers() {
        let (_d, mut store) = crate::store::test_store();
        let now = crate::store::now();
        let ev = crate::config::Config::default().event();
        let mk = |id: &str| MemberInput {
            name: "张三".into(),
            id_number: id.into(),
            phone: "13800138000".into(),
            employer: "某公司".into(),
            consent: true,
            ..Default::default()
        };
        let a = store
            .register(
                &validate(&mk("11010519491231002X"), now.date_naive()).unwrap(),
                &ev,
                &now,
            )
            .unwrap();
        let b = store.register(
            &validate(&mk("110105198001010016"), now.date_naive()).unwrap(),
            &ev,
            &now,
        );
        let b = b.unwrap();
        assert_eq!(b.member_no.seq(), a.member_no.seq() + 1);
        // a batch continues the sequence, and a single registration after it too
        let mut batch = store.batch().unwrap();
        let c = batch
            .register(
                &validate(&mk("110105199001010010"), now.date_naive()).unwrap(),
                &ev,
                &now,
            )
            .unwrap();
        batch.commit().unwrap();
        assert_eq!(c.member_no.seq(), b.member_no.seq() + 1);
        let d = store.register(
            &validate(&mk("110105199101010018"), now.date_naive()).unwrap(),
            &ev,
            &now,
        );
        assert_eq!(d.unwrap().member_no.seq(), c.member_no.seq() + 1);
    }
}
