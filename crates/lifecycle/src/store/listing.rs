//! [`Listing`]: the rows a listing read, in order, each whole or damaged. One row changed
//! outside tokenline must not hide every other row from an operator: a listing answers the
//! rows that read and names each damaged one in its place ([`super::columns::damaged`]), and
//! the caller decides: a screen or the CLI shows both, a use case that needs every row
//! refuses with the first damaged one ([`Listing::whole`]).

use super::StoreError;

/// The rows of a listing in the store's order: `Ok` a whole row, `Err` a damaged one
/// ([`StoreError::Corrupt`] naming its table, key and column; never another error: a backend
/// failure fails the whole read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing<T> {
    /// Every row, in order.
    pub rows: Vec<Result<T, StoreError>>,
}

impl<T> Default for Listing<T> {
    fn default() -> Self {
        Listing { rows: Vec::new() }
    }
}

impl<T> Listing<T> {
    /// A listing of rows that are all whole (a store that cannot hold a damaged row).
    pub fn of(rows: impl IntoIterator<Item = T>) -> Self {
        Listing {
            rows: rows.into_iter().map(Ok).collect(),
        }
    }

    /// The listing of decoded rows: a damaged row ([`StoreError::Corrupt`]) stays in its
    /// place.
    ///
    /// # Errors
    /// The first error that is not [`StoreError::Corrupt`] (the read failed as a whole).
    pub fn decoded(
        rows: impl IntoIterator<Item = Result<T, StoreError>>,
    ) -> Result<Self, StoreError> {
        let rows = rows
            .into_iter()
            .map(damage_apart)
            .collect::<Result<_, _>>()?;
        Ok(Listing { rows })
    }

    /// Every row, for a use case that needs them all.
    ///
    /// # Errors
    /// The first damaged row's error.
    pub fn whole(self) -> Result<Vec<T>, StoreError> {
        self.rows.into_iter().collect()
    }

    /// The whole rows and the damaged rows' errors, apart (each in order).
    pub fn split(self) -> (Vec<T>, Vec<StoreError>) {
        let mut whole = Vec::new();
        let mut damaged = Vec::new();
        for r in self.rows {
            match r {
                Ok(t) => whole.push(t),
                Err(e) => damaged.push(e),
            }
        }
        (whole, damaged)
    }

    /// The same listing with each whole row mapped by `f`.
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Listing<U> {
        Listing {
            rows: self.rows.into_iter().map(|r| r.map(&mut f)).collect(),
        }
    }

    /// The number of rows, whole and damaged.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the listing holds no row at all.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// A read of one row with its damage set apart: `Ok(Err(..))` for a damaged row
/// ([`StoreError::Corrupt`]), which a listing reports in the row's place.
///
/// # Errors
/// Any other error of `read` (the read failed as a whole).
pub fn damage_apart<T>(read: Result<T, StoreError>) -> Result<Result<T, StoreError>, StoreError> {
    match read {
        Err(StoreError::Corrupt(m)) => Ok(Err(StoreError::Corrupt(m))),
        Err(e) => Err(e),
        ok => Ok(ok),
    }
}
