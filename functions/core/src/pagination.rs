//! Cursor pagination shared by every list endpoint: `limit` (1–100, default
//! 20) and an opaque `cursor` → `{"items": [...], "next_cursor": null|string}`.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use serde::Serialize;

use crate::error::InvalidValue;
use crate::ports::SqlValue;

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 20;
/// Largest page size.
pub const MAX_LIMIT: u32 = 100;

/// Validates `limit` (absent → [`DEFAULT_LIMIT`]).
pub fn parse_limit(raw: Option<&str>) -> Result<u32, InvalidValue> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_LIMIT);
    };
    match raw.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(InvalidValue::new(
            "INVALID_LIMIT",
            "limit",
            "limit must be an integer from 1 to 100",
        )),
    }
}

/// A position in a list ordered by (sort key, id), both text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The sort key of the last item returned (e.g. a timestamp).
    pub key: String,
    /// The id of the last item returned (tie-breaker).
    pub id: String,
}

impl Cursor {
    /// Opaque encoding.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}\n{}", self.key, self.id))
    }

    /// Decodes a cursor from a client (`INVALID_CURSOR` when tampered).
    pub fn decode(raw: &str) -> Result<Self, InvalidValue> {
        let invalid = || {
            InvalidValue::new(
                "INVALID_CURSOR",
                "cursor",
                "cursor is not one this API issued",
            )
        };
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let (key, id) = text.split_once('\n').ok_or_else(invalid)?;
        if key.is_empty() || id.is_empty() || id.contains('\n') {
            return Err(invalid());
        }
        Ok(Self {
            key: key.to_string(),
            id: id.to_string(),
        })
    }
}

/// Turns `limit + 1` fetched rows into a page: the extra row only tells that
/// more exist. `cursor_of` gives the cursor after an item.
pub fn page_from<T>(mut rows: Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> Cursor) -> Page<T> {
    let limit = limit as usize;
    let next_cursor = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|last| cursor_of(last).encode())
    } else {
        None
    };
    Page {
        items: rows,
        next_cursor,
    }
}

/// A list query read newest first in pages keyed by `(key, id)`, both
/// descending: optional filters, then the cursor condition, the order and
/// a limit of one row more than the page (see [`page_from`]).
#[derive(Debug, Clone)]
pub struct NewestFirst {
    select: String,
    conditions: Vec<String>,
    args: Vec<SqlValue>,
}

impl NewestFirst {
    /// Starts from `select` (`SELECT ... FROM ...`, joins included, no
    /// `WHERE`).
    pub fn new(select: impl Into<String>) -> Self {
        Self {
            select: select.into(),
            conditions: Vec::new(),
            args: Vec::new(),
        }
    }

    /// Adds a condition with one `?`, bound to `arg`.
    #[must_use]
    pub fn filter(mut self, condition: &str, arg: impl Into<SqlValue>) -> Self {
        self.conditions.push(condition.to_string());
        self.args.push(arg.into());
        self
    }

    /// Adds a condition with several `?`, bound to `args` in order.
    #[must_use]
    pub fn filter_all(mut self, condition: &str, args: Vec<SqlValue>) -> Self {
        self.conditions.push(condition.to_string());
        self.args.extend(args);
        self
    }

    /// The statement and its arguments for the page after `cursor`, ordered
    /// by the `key` and `id` columns.
    pub fn page(
        mut self,
        key: &str,
        id: &str,
        cursor: Option<&Cursor>,
        limit: u32,
    ) -> (String, Vec<SqlValue>) {
        if let Some(c) = cursor {
            self.conditions
                .push(format!("({key} < ? OR ({key} = ? AND {id} < ?))"));
            self.args.extend([
                SqlValue::from(c.key.as_str()),
                SqlValue::from(c.key.as_str()),
                SqlValue::from(c.id.as_str()),
            ]);
        }
        let mut sql = self.select;
        if !self.conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&self.conditions.join(" AND "));
        }
        sql.push_str(&format!(" ORDER BY {key} DESC, {id} DESC LIMIT ?"));
        self.args.push(SqlValue::Integer(i64::from(limit) + 1));
        (sql, self.args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_first_adds_filters_cursor_order_and_one_extra_row() {
        let (sql, args) = NewestFirst::new("SELECT id FROM t").page("at", "id", None, 20);
        assert_eq!(sql, "SELECT id FROM t ORDER BY at DESC, id DESC LIMIT ?");
        assert_eq!(args, vec![SqlValue::Integer(21)]);
        let c = Cursor {
            key: "k".into(),
            id: "i".into(),
        };
        let (sql, args) = NewestFirst::new("SELECT id FROM t")
            .filter("owner = ?", "o")
            .page("at", "id", Some(&c), 5);
        assert_eq!(
            sql,
            "SELECT id FROM t WHERE owner = ? AND (at < ? OR (at = ? AND id < ?)) \
             ORDER BY at DESC, id DESC LIMIT ?"
        );
        assert_eq!(
            args,
            vec![
                SqlValue::from("o"),
                SqlValue::from("k"),
                SqlValue::from("k"),
                SqlValue::from("i"),
                SqlValue::Integer(6)
            ]
        );
    }

    #[test]
    fn limits() {
        assert_eq!(parse_limit(None).unwrap(), 20);
        assert_eq!(parse_limit(Some("100")).unwrap(), 100);
        for bad in ["0", "101", "-1", "x", "1.5", ""] {
            assert!(parse_limit(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn cursor_round_trip_and_tamper() {
        let c = Cursor {
            key: "2026-11-24T10:00:00Z".into(),
            id: "abc".into(),
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        assert!(Cursor::decode("!!!").is_err());
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode("no-newline")).is_err());
    }

    #[test]
    fn page_from_uses_the_extra_row() {
        let p = page_from(vec![1, 2, 3], 2, |n| Cursor {
            key: n.to_string(),
            id: n.to_string(),
        });
        assert_eq!(p.items, vec![1, 2]);
        assert_eq!(
            Cursor::decode(p.next_cursor.as_deref().unwrap())
                .unwrap()
                .id,
            "2"
        );
        let last = page_from(vec![1, 2], 2, |n| Cursor {
            key: n.to_string(),
            id: n.to_string(),
        });
        assert_eq!(last.next_cursor, None);
    }
}
