//! Progress of batch runs — a roster's cards printed one after another: which member numbers
//! a kind of output has already done, so an interrupted run resumes where it stopped and
//! nobody is done twice unless asked. The caller names the kind ("print"); the store keeps
//! plain rows.

use chrono::{DateTime, FixedOffset};
use rusqlite::{Connection, OptionalExtension, params};

use super::{Store, StoreError, timestamp};

/// True if `member_no` was done by a batch of this kind (on any connection to the store).
pub fn is_done(conn: &Connection, kind: &str, member_no: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM batch_done WHERE kind = ?1 AND member_no = ?2")?
        .query_row(params![kind, member_no], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Records `member_no` as done by run `run`, in its own transaction (on any connection).
pub fn mark_done(
    conn: &Connection,
    kind: &str,
    member_no: &str,
    run: &str,
    at: &DateTime<FixedOffset>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO batch_done (kind, member_no, run, done_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (kind, member_no) DO UPDATE SET run = ?3, done_at = ?4",
    )?
    .execute(params![kind, member_no, run, timestamp(at)])?;
    Ok(())
}

impl Store {
    /// True if `member_no` was done by a batch of this kind.
    pub fn batch_done(&self, kind: &str, member_no: &str) -> Result<bool, StoreError> {
        is_done(&self.conn, kind, member_no)
    }

    /// Records `member_no` as done by run `run` (a second time: the newer run and time).
    /// One row in its own transaction: what was printed stays recorded if the run is killed.
    pub fn mark_batch_done(
        &self,
        kind: &str,
        member_no: &str,
        run: &str,
        at: &DateTime<FixedOffset>,
    ) -> Result<(), StoreError> {
        mark_done(&self.conn, kind, member_no, run, at)
    }

    /// How many member numbers a batch of this kind has done, over all runs.
    pub fn batch_done_count(&self, kind: &str) -> Result<u64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM batch_done WHERE kind = ?1",
            [kind],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{Store, now, test_store};

    #[test]
    fn done_rows_survive_reopening_and_a_second_mark_updates() {
        let (dir, st) = test_store();
        assert!(!st.batch_done("print", "A").unwrap());
        st.mark_batch_done("print", "A", "run-1", &now()).unwrap();
        st.mark_batch_done("print", "A", "run-2", &now()).unwrap();
        assert!(st.batch_done("print", "A").unwrap());
        assert!(!st.batch_done("pdf", "A").unwrap());
        drop(st);
        let st = Store::open(dir.path(), b"pw").unwrap();
        assert!(st.batch_done("print", "A").unwrap());
        assert_eq!(st.batch_done_count("print").unwrap(), 1);
    }
}
