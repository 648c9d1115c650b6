//! How each database writes the n-th parameter of a built query (1-based). Both are numbered,
//! so one value may serve several places of a query (the figures' branches, a LIKE pattern
//! tried on two columns).

pub(crate) fn sqlite(n: usize) -> String {
    format!("?{n}")
}

pub(crate) fn postgres(n: usize) -> String {
    format!("${n}")
}

/// A PostgreSQL parameter bound as text and compared with a `DATE` column.
pub(crate) fn postgres_date(n: usize) -> String {
    format!("${n}::text::date")
}
