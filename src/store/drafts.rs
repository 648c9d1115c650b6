//! The registration form's draft: saved as it is typed, offered back after a crash.

use chrono::{DateTime, FixedOffset};
use rusqlite::{Connection, OptionalExtension, params};

use super::{Store, StoreError, parse_timestamp, timestamp};
use crate::member::MemberInput;

/// Saves the draft through any connection (the UI's draft writer has its own).
pub fn save(
    conn: &Connection,
    input: &MemberInput,
    now: &DateTime<FixedOffset>,
) -> Result<(), StoreError> {
    if input.is_blank() {
        conn.execute("DELETE FROM draft", [])?;
        return Ok(());
    }
    let json = serde_json::to_string(input).map_err(|e| StoreError::Damaged(e.to_string()))?;
    conn.prepare_cached(
        "INSERT INTO draft (id, content, updated_at) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET content = excluded.content, updated_at = excluded.updated_at",
    )?
    .execute(params![json, timestamp(now)])?;
    Ok(())
}

pub fn load(conn: &Connection) -> Result<Option<(MemberInput, DateTime<FixedOffset>)>, StoreError> {
    let row: Option<(String, String)> = conn
        .query_row(
            "SELECT content, updated_at FROM draft WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(row.and_then(|(json, at)| {
        let input: MemberInput = serde_json::from_str(&json).ok()?;
        Some((input, parse_timestamp(&at)?))
    }))
}

pub fn clear(conn: &Connection) -> Result<(), StoreError> {
    conn.execute("DELETE FROM draft", [])?;
    Ok(())
}

impl Store {
    pub fn save_draft(
        &self,
        input: &MemberInput,
        now: &DateTime<FixedOffset>,
    ) -> Result<(), StoreError> {
        save(&self.conn, input, now)
    }

    pub fn load_draft(&self) -> Result<Option<(MemberInput, DateTime<FixedOffset>)>, StoreError> {
        load(&self.conn)
    }

    pub fn clear_draft(&self) -> Result<(), StoreError> {
        clear(&self.conn)
    }
}

#[cfg(test)]
mod tests {
    use crate::member::MemberInput;

    #[test]
    fn draft_round_trip_and_blank_clears() {
        let (_d, store) = crate::store::test_store();
        let now = crate::store::now();
        assert!(store.load_draft().unwrap().is_none());
        let input = MemberInput {
            name: "张".into(),
            ..Default::default()
        };
        store.save_draft(&input, &now).unwrap();
        assert_eq!(store.load_draft().unwrap().unwrap().0, input);
        store.save_draft(&MemberInput::default(), &now).unwrap();
        assert!(store.load_draft().unwrap().is_none());
    }
}
