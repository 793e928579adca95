//! The core ports implemented on spin-sdk host interfaces.

use std::cell::{Cell, OnceCell};

use chrono::{DateTime, Utc};
use krug_core::ports::{
    Clock, Http, HttpError, KeyValue, OutboundRequest, OutboundResponse, Random, Rows, Sql,
    SqlValue, StoreError, Variables,
};
use spin_sdk::{key_value, sqlite3};

/// SQLite `default`, opened on first use so routes that never touch SQL pay
/// nothing. One connection per request instance, as Spin gives each guest
/// `open` its own connection. It counts the statements it sends (and how
/// many came back "busy") for the access log.
#[derive(Default)]
pub struct SpinSql {
    conn: OnceCell<sqlite3::Connection>,
    statements: Cell<u32>,
    busy: Cell<u32>,
}

impl SpinSql {
    /// Statements sent so far, and how many of them found the database busy.
    pub(crate) fn counts(&self) -> (u32, u32) {
        (self.statements.get(), self.busy.get())
    }

    fn conn(&self) -> Result<&sqlite3::Connection, StoreError> {
        if let Some(conn) = self.conn.get() {
            return Ok(conn);
        }
        let conn = sqlite3::Connection::open_default().map_err(map_sql_error)?;
        Ok(self.conn.get_or_init(|| conn))
    }
}

fn to_spin(value: &SqlValue) -> sqlite3::Value {
    match value {
        SqlValue::Null => sqlite3::Value::Null,
        SqlValue::Integer(i) => sqlite3::Value::Integer(*i),
        SqlValue::Real(f) => sqlite3::Value::Real(*f),
        SqlValue::Text(s) => sqlite3::Value::Text(s.clone()),
        SqlValue::Blob(b) => sqlite3::Value::Blob(b.clone()),
    }
}

fn from_spin(value: sqlite3::Value) -> SqlValue {
    match value {
        sqlite3::Value::Null => SqlValue::Null,
        sqlite3::Value::Integer(i) => SqlValue::Integer(i),
        sqlite3::Value::Real(f) => SqlValue::Real(f),
        sqlite3::Value::Text(s) => SqlValue::Text(s),
        sqlite3::Value::Blob(b) => SqlValue::Blob(b),
    }
}

// Spin reports every engine failure as `io(message)`; SQLite's own message
// text is the only way to tell contention and constraint failures apart.
fn map_sql_error(e: sqlite3::Error) -> StoreError {
    match e {
        sqlite3::Error::Io(msg) => classify_sqlite_message(msg),
        other => StoreError::Other(other.to_string()),
    }
}

fn classify_sqlite_message(msg: String) -> StoreError {
    let lower = msg.to_ascii_lowercase();
    if lower.contains("database is locked") || lower.contains("database is busy") {
        StoreError::Busy
    } else if lower.contains("constraint") {
        StoreError::Constraint(msg)
    } else {
        StoreError::Other(msg)
    }
}

impl Sql for SpinSql {
    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, StoreError> {
        let params: Vec<sqlite3::Value> = params.iter().map(to_spin).collect();
        let conn = self.conn()?;
        self.statements.set(self.statements.get().saturating_add(1));
        let result = conn.execute(sql, &params).map_err(|e| {
            let e = map_sql_error(e);
            if matches!(e, StoreError::Busy) {
                self.busy.set(self.busy.get().saturating_add(1));
            }
            e
        })?;
        Ok(Rows {
            columns: result.columns,
            rows: result
                .rows
                .into_iter()
                .map(|row| row.values.into_iter().map(from_spin).collect())
                .collect(),
        })
    }

    fn changes(&self) -> Result<u64, StoreError> {
        Ok(self.conn()?.changes())
    }
}

/// Key-value store `default`, opened on first use.
#[derive(Default)]
pub struct SpinKv {
    store: OnceCell<key_value::Store>,
}

impl SpinKv {
    fn store(&self) -> Result<&key_value::Store, StoreError> {
        if let Some(store) = self.store.get() {
            return Ok(store);
        }
        let store =
            key_value::Store::open_default().map_err(|e| StoreError::Other(e.to_string()))?;
        Ok(self.store.get_or_init(|| store))
    }
}

impl KeyValue for SpinKv {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.store()?
            .get(key)
            .map_err(|e| StoreError::Other(e.to_string()))
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.store()?
            .set(key, value)
            .map_err(|e| StoreError::Other(e.to_string()))
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.store()?
            .delete(key)
            .map_err(|e| StoreError::Other(e.to_string()))
    }
}

/// The WASI wall clock (the host may shift it in tests).
#[derive(Default, Clone, Copy)]
pub struct SpinClock;

impl Clock for SpinClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The WASI CSPRNG (`wasi:random/random`).
#[derive(Default, Clone, Copy)]
pub struct SpinRandom;

impl Random for SpinRandom {
    fn fill(&self, buf: &mut [u8]) {
        let bytes = wasi::random::random::get_random_bytes(buf.len() as u64);
        buf.copy_from_slice(&bytes[..buf.len()]);
    }
}

/// Spin variables visible to this component.
#[derive(Default, Clone, Copy)]
pub struct SpinVariables;

impl Variables for SpinVariables {
    fn get(&self, name: &str) -> Option<String> {
        spin_sdk::variables::get(name).ok()
    }
}

/// Outbound HTTP through `wasi:http/outgoing-handler`; the runtime enforces
/// `allowed_outbound_hosts`.
#[derive(Default, Clone, Copy)]
pub struct SpinHttp;

impl Http for SpinHttp {
    fn send(&self, req: OutboundRequest) -> Result<OutboundResponse, HttpError> {
        use spin_sdk::http::{Method, Request, Response};
        let method = match req.method.as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "HEAD" => Method::Head,
            other => Method::Other(other.to_string()),
        };
        let mut builder = Request::builder();
        builder.method(method).uri(req.url.clone()).body(req.body);
        for (name, value) in &req.headers {
            builder.header(name.clone(), value.clone());
        }
        let request = builder.build();
        // The route handler runs synchronously inside the SDK's executor, with
        // no other future pending, so driving this one future to completion
        // here is safe.
        let result: Result<Response, _> = spin_sdk::http::run(spin_sdk::http::send(request));
        match result {
            Ok(resp) => Ok(OutboundResponse {
                status: *resp.status(),
                headers: resp
                    .headers()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().unwrap_or("").to_string()))
                    .collect(),
                body: resp.into_body(),
            }),
            Err(e) => {
                let text = e.to_string();
                if text.contains("HttpRequestDenied")
                    || text.to_ascii_lowercase().contains("denied")
                {
                    Err(HttpError::NotAllowed(req.url))
                } else {
                    Err(HttpError::Failed(text))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_messages_are_classified() {
        assert_eq!(
            classify_sqlite_message("database is locked".into()),
            StoreError::Busy
        );
        assert!(matches!(
            classify_sqlite_message("UNIQUE constraint failed: members.phone".into()),
            StoreError::Constraint(_)
        ));
        assert!(matches!(
            classify_sqlite_message("no such table: x".into()),
            StoreError::Other(_)
        ));
    }
}
