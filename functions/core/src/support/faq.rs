//! The FAQ: public search in Russian without regard to case, with `ё`
//! folded to `е`; admin create, update and delete.

use chrono::Utc;
use serde::Serialize;

use super::error::SupportError;
use super::model;
use crate::db::{ts, Row};
use crate::params;
use crate::ports::{Clock, Random, Sql, SqlValue, StoreError};
use crate::types::Id;

/// Folds text for search: lower case (Cyrillic included), `ё` → `е`,
/// runs of whitespace to one space.
pub fn normalize(text: &str) -> String {
    let lower: String = text
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ё' { 'е' } else { c })
        .collect();
    lower.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The words of a query, normalised, at most 10, each escaped for `LIKE`.
pub fn query_terms(q: &str) -> Vec<String> {
    normalize(q)
        .split(' ')
        .filter(|w| !w.is_empty())
        .take(10)
        .map(|w| {
            let mut out = String::from("%");
            for c in w.chars() {
                if matches!(c, '%' | '_' | '\\') {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('%');
            out
        })
        .collect()
}

/// One FAQ entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Entry id.
    pub id: String,
    /// Question.
    pub question: String,
    /// Answer.
    pub answer: String,
    /// Display order (ascending).
    pub position: i64,
    /// Created at.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

fn from_row(r: Row<'_>) -> Result<Entry, StoreError> {
    Ok(Entry {
        id: r.text("id")?,
        question: r.text("question")?,
        answer: r.text("answer")?,
        position: r.i64("position")?,
        created_at: r.text("created_at")?,
        updated_at: r.text("updated_at")?,
    })
}

const COLUMNS: &str = "id, question, answer, position, created_at, updated_at";

/// Entries matching every word of `q` (all entries when `q` is empty), in
/// display order; at most 100.
pub fn search(sql: &dyn Sql, q: Option<&str>) -> Result<Vec<Entry>, SupportError> {
    if q.is_some_and(|q| q.chars().count() > 200) {
        return Err(crate::error::InvalidValue::new(
            "INVALID_QUERY",
            "q",
            "q must be at most 200 characters",
        )
        .into());
    }
    let terms = q.map(query_terms).unwrap_or_default();
    let mut query = format!("SELECT {COLUMNS} FROM faq_entries");
    let mut args: Vec<SqlValue> = Vec::new();
    for (i, t) in terms.iter().enumerate() {
        query.push_str(if i == 0 { " WHERE " } else { " AND " });
        query.push_str("search_text LIKE ? ESCAPE '\\'");
        args.push(t.as_str().into());
    }
    query.push_str(" ORDER BY position, created_at, id LIMIT 100");
    let rows = sql.execute(&query, &args)?;
    Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
}

/// A new or changed entry.
#[derive(Debug, Clone, Default)]
pub struct EntryInput {
    /// Question (1-500 characters).
    pub question: Option<String>,
    /// Answer (1-10000 characters).
    pub answer: Option<String>,
    /// Display order.
    pub position: Option<i64>,
}

fn question(q: &str) -> Result<String, SupportError> {
    Ok(model::text(q, "question", "INVALID_QUESTION", 500)?)
}

fn answer(a: &str) -> Result<String, SupportError> {
    Ok(model::text(a, "answer", "INVALID_ANSWER", 10_000)?)
}

fn position(p: i64) -> Result<i64, SupportError> {
    if (0..=1_000_000).contains(&p) {
        Ok(p)
    } else {
        Err(crate::error::InvalidValue::new(
            "INVALID_POSITION",
            "position",
            "position must be 0-1000000",
        )
        .into())
    }
}

fn load(sql: &dyn Sql, id: &str) -> Result<Entry, SupportError> {
    let id = Id::parse(id, "id")
        .map_err(|_| SupportError::FaqNotFound)?
        .to_text();
    let rows = sql.execute(
        &format!("SELECT {COLUMNS} FROM faq_entries WHERE id = ?"),
        &params![id],
    )?;
    rows.first()
        .map(from_row)
        .transpose()?
        .ok_or(SupportError::FaqNotFound)
}

/// `POST /admin/faq`: question and answer required.
pub fn create(
    sql: &dyn Sql,
    clock: &dyn Clock,
    random: &dyn Random,
    input: &EntryInput,
) -> Result<Entry, SupportError> {
    let q = question(input.question.as_deref().unwrap_or(""))?;
    let a = answer(input.answer.as_deref().unwrap_or(""))?;
    let p = position(input.position.unwrap_or(0))?;
    let now = clock.now();
    let id = Id::at(now, random).to_text();
    sql.execute(
        "INSERT INTO faq_entries (id, question, answer, search_text, position, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
        &params![id.as_str(), q.as_str(), a.as_str(), normalize(&format!("{q} {a}")), p, ts(now), ts(now)],
    )?;
    load(sql, &id)
}

/// `PATCH /admin/faq/{id}`: the fields given change.
pub fn update(
    sql: &dyn Sql,
    clock: &dyn Clock,
    id: &str,
    input: &EntryInput,
) -> Result<Entry, SupportError> {
    let q = input.question.as_deref().map(question).transpose()?;
    let a = input.answer.as_deref().map(answer).transpose()?;
    let p = input.position.map(position).transpose()?;
    let current = load(sql, id)?;
    let q = q.unwrap_or(current.question);
    let a = a.unwrap_or(current.answer);
    let p = p.unwrap_or(current.position);
    let now: chrono::DateTime<Utc> = clock.now();
    sql.execute(
        "UPDATE faq_entries SET question = ?, answer = ?, search_text = ?, position = ?, updated_at = ? WHERE id = ?",
        &params![q.as_str(), a.as_str(), normalize(&format!("{q} {a}")), p, ts(now), current.id.as_str()],
    )?;
    load(sql, &current.id)
}

/// `DELETE /admin/faq/{id}`.
pub fn delete(sql: &dyn Sql, id: &str) -> Result<(), SupportError> {
    let current = load(sql, id)?;
    sql.execute(
        "DELETE FROM faq_entries WHERE id = ?",
        &params![current.id.as_str()],
    )?;
    Ok(())
}
