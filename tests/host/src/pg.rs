//! Spin's PostgreSQL interface, `spin:postgres/postgres@4.0.0`, on
//! `tokio-postgres`, behaving as Spin 4's outbound PostgreSQL does:
//!
//! - `open` refuses an address whose hosts are not all allowed by the
//!   component's `allowed_outbound_hosts` (`postgres://host:port`, port 5432
//!   when the address has none) with `connection-failed`, before connecting;
//! - connections come from a pool per component and address (at most 64
//!   connections per pool, 16 addresses per component, recycled with
//!   deadpool's `Clean` method: a transaction left open is *not* rolled
//!   back, the next user of the connection is still inside it), and each
//!   open handle keeps its own connection until the guest drops it;
//! - parameters bind strictly (an `int64` for an `int4` parameter fails, as
//!   the driver refuses it), `db-null` binds to a parameter of any type;
//! - results map PostgreSQL types as Spin does, anything else is
//!   `unsupported` with its raw bytes (so `void` is `unsupported([])` and a
//!   `name` column is `other("name")`, not a string);
//! - a server error is `query-failed(db-error)` with its SQLSTATE when the
//!   driver returns it directly (prepare and bind errors, `execute`); an
//!   error raised while `query` reads rows, a row that cannot be converted
//!   and a parameter of the wrong type are `query-failed(text)`, as in Spin.
//!
//! One deliberate difference: Spin 4.0.x never answers a `query` that
//! returns no rows (the columns are taken from the first row and it waits
//! for one forever). Here such a query returns no rows and the statement's
//! columns. Only plain TCP is spoken (no TLS), which a local server accepts
//! with the default `sslmode=prefer`.

// The error type is the interface's own, server error fields and all.
#![allow(clippy::result_large_err)]

use std::{
    collections::HashMap,
    error::Error as StdError,
    sync::{Arc, Mutex},
    time::Instant,
};

use anyhow::{anyhow, Context as _};
use futures::TryStreamExt as _;
use tokio_postgres::{
    types::{FromSql, IsNull, ToSql, Type},
    NoTls, Row,
};

use crate::{
    bindings::spin::postgres::postgres::{
        Column, DbDataType, DbError, DbValue, Error, Interval, ParameterValue, QueryError,
        RangeBoundKind, RowSet,
    },
    outbound::AllowList,
};

/// Connections one pool keeps at most (Spin's figure).
const POOL_SIZE: usize = 64;
/// Addresses whose pools a component keeps (Spin caches 16).
const ADDRESSES_PER_COMPONENT: usize = 16;
/// Handles one instance may hold open at once (Spin's table size).
pub const HANDLES_PER_INSTANCE: usize = 1024;
/// The most a `query` may buffer before it fails (Spin's limit).
const MAX_RESULT_BYTES: usize = 128 << 20;

/// Host side of an open PostgreSQL connection (a guest `connection`
/// resource): a pooled connection, back to its pool when dropped.
pub struct PgHandle {
    client: Arc<deadpool_postgres::Object>,
}

impl PgHandle {
    /// The connection, for running one call without borrowing the table.
    pub fn client(&self) -> Arc<deadpool_postgres::Object> {
        self.client.clone()
    }
}

struct Cached {
    address: String,
    pool: deadpool_postgres::Pool,
    used: Instant,
}

/// Every component's connection pools, shared by its instances.
#[derive(Default)]
pub struct Pools {
    by_component: Mutex<HashMap<String, Vec<Cached>>>,
}

impl Pools {
    fn pool(&self, component: &str, address: &str) -> anyhow::Result<deadpool_postgres::Pool> {
        let mut all = self
            .by_component
            .lock()
            .map_err(|_| anyhow!("connection pools poisoned"))?;
        let pools = all.entry(component.to_string()).or_default();
        if let Some(cached) = pools.iter_mut().find(|c| c.address == address) {
            cached.used = Instant::now();
            return Ok(cached.pool.clone());
        }
        let config: tokio_postgres::Config = address
            .parse()
            .context("parsing Postgres connection string")?;
        let manager = deadpool_postgres::Manager::from_config(
            config,
            NoTls,
            deadpool_postgres::ManagerConfig {
                recycling_method: deadpool_postgres::RecyclingMethod::Clean,
            },
        );
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .context("building Postgres connection pool")?;
        if pools.len() >= ADDRESSES_PER_COMPONENT {
            // Forget the least recently used address; its connections close
            // once the handles still holding them are dropped.
            if let Some(oldest) = pools
                .iter()
                .enumerate()
                .min_by_key(|(_, c)| c.used)
                .map(|(i, _)| i)
            {
                pools.swap_remove(oldest);
            }
        }
        pools.push(Cached {
            address: address.to_string(),
            pool: pool.clone(),
            used: Instant::now(),
        });
        Ok(pool)
    }

    /// A connection to `address` for `component`'s new handle: an idle one
    /// from the pool (recycled) or a new one.
    pub async fn connect(&self, component: &str, address: &str) -> Result<PgHandle, Error> {
        let got = match self.pool(component, address) {
            Ok(pool) => pool.get().await.map_err(anyhow::Error::from),
            Err(e) => Err(e.context("establishing PostgreSQL connection pool")),
        };
        got.map(|object| PgHandle {
            client: Arc::new(object),
        })
        .map_err(|e| Error::ConnectionFailed(format!("{e:?}")))
    }
}

/// Whether `address` (a URL or key-value connection string) may be opened:
/// each of its hosts must be allowed as `postgres://host:port`.
pub fn check_address(allow: &AllowList, address: &str) -> Result<(), Error> {
    let config: tokio_postgres::Config = address
        .parse()
        .map_err(|e: tokio_postgres::Error| Error::ConnectionFailed(e.to_string()))?;
    let ports = config.get_ports();
    for (i, host) in config.get_hosts().iter().enumerate() {
        let tokio_postgres::config::Host::Tcp(host) = host else {
            return Err(Error::ConnectionFailed(
                "Unix sockets are not supported on WebAssembly".into(),
            ));
        };
        // A host takes the port at its index, or the only one given; with
        // neither, the scheme's default.
        let port = ports
            .get(i)
            .or_else(|| (ports.len() == 1).then(|| &ports[0]))
            .copied();
        if !allow.allows_host("postgres", host, port) {
            let shown = match port {
                Some(p) => format!("{host}:{p}"),
                None => host.clone(),
            };
            return Err(Error::ConnectionFailed(format!(
                "address postgres://{shown} is not permitted"
            )));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- errors

fn db_extras(db: &tokio_postgres::error::DbError) -> Vec<(String, String)> {
    let fields: [(&str, Option<String>); 10] = [
        ("column", db.column().map(str::to_string)),
        ("constraint", db.constraint().map(str::to_string)),
        ("routine", db.routine().map(str::to_string)),
        ("hint", db.hint().map(str::to_string)),
        ("table", db.table().map(str::to_string)),
        ("datatype", db.datatype().map(str::to_string)),
        ("schema", db.schema().map(str::to_string)),
        ("file", db.file().map(str::to_string)),
        ("line", db.line().map(|l| l.to_string())),
        ("where_", db.where_().map(str::to_string)),
    ];
    fields
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name.to_string(), v)))
        .collect()
}

/// A driver error as the guest sees it: structured when the server sent it.
fn query_failed(e: &tokio_postgres::Error) -> Error {
    let text = format!("{e:?}");
    Error::QueryFailed(match e.as_db_error() {
        Some(db) => QueryError::DbError(DbError {
            as_text: text,
            severity: db.severity().to_string(),
            code: db.code().code().to_string(),
            message: db.message().to_string(),
            detail: db.detail().map(str::to_string),
            extras: db_extras(db),
        }),
        None => QueryError::Text(text),
    })
}

fn text_failure(text: String) -> Error {
    Error::QueryFailed(QueryError::Text(text))
}

// ---------------------------------------------------------------- parameters

type Param = Box<dyn ToSql + Send + Sync>;

// NULL for a parameter of whatever type the server expects: a typed
// `Option::None` would be refused for any other type.
#[derive(Debug)]
struct Null;

impl ToSql for Null {
    fn to_sql(
        &self,
        _: &Type,
        _: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        Ok(IsNull::Yes)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn to_sql_checked(
        &self,
        _: &Type,
        _: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        Ok(IsNull::Yes)
    }
}

// `interval` on the wire: microseconds, days, months.
#[derive(Debug, Clone, Copy)]
struct PgInterval(Interval);

impl ToSql for PgInterval {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        out.extend_from_slice(&self.0.micros.to_be_bytes());
        out.extend_from_slice(&self.0.days.to_be_bytes());
        out.extend_from_slice(&self.0.months.to_be_bytes());
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }

    tokio_postgres::types::to_sql_checked!();
}

impl<'a> FromSql<'a> for PgInterval {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        let bytes: [u8; 16] = raw
            .try_into()
            .map_err(|_| format!("an interval is 16 bytes, not {}", raw.len()))?;
        let (micros, rest) = bytes.split_at(8);
        let (days, months) = rest.split_at(4);
        Ok(Self(Interval {
            micros: i64::from_be_bytes(micros.try_into()?),
            days: i32::from_be_bytes(days.try_into()?),
            months: i32::from_be_bytes(months.try_into()?),
        }))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }
}

// A decimal that can sit in a range (ranges need bounds they can normalise;
// decimals need none).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
struct RangeDecimal(rust_decimal::Decimal);

impl ToSql for RangeDecimal {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        self.0.to_sql(ty, out)
    }

    fn accepts(ty: &Type) -> bool {
        <rust_decimal::Decimal as ToSql>::accepts(ty)
    }

    tokio_postgres::types::to_sql_checked!();
}

impl<'a> FromSql<'a> for RangeDecimal {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        rust_decimal::Decimal::from_sql(ty, raw).map(Self)
    }

    fn accepts(ty: &Type) -> bool {
        <rust_decimal::Decimal as FromSql>::accepts(ty)
    }
}

impl postgres_range::Normalizable for RangeDecimal {
    fn normalize<S: postgres_range::BoundSided>(
        bound: postgres_range::RangeBound<S, Self>,
    ) -> postgres_range::RangeBound<S, Self> {
        bound
    }
}

// A value the host does not convert: its raw bytes, whatever the type.
struct Raw(Vec<u8>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(Self(raw.to_vec()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

fn decimal(text: &str) -> anyhow::Result<rust_decimal::Decimal> {
    rust_decimal::Decimal::from_str_exact(text).with_context(|| format!("invalid decimal {text}"))
}

fn bound_type(kind: RangeBoundKind) -> postgres_range::BoundType {
    match kind {
        RangeBoundKind::Inclusive => postgres_range::BoundType::Inclusive,
        RangeBoundKind::Exclusive => postgres_range::BoundType::Exclusive,
    }
}

fn bound_kind(ty: postgres_range::BoundType) -> RangeBoundKind {
    match ty {
        postgres_range::BoundType::Inclusive => RangeBoundKind::Inclusive,
        postgres_range::BoundType::Exclusive => RangeBoundKind::Exclusive,
    }
}

type WitBound<T> = Option<(T, RangeBoundKind)>;

fn to_range<T, U>(
    (lower, upper): (WitBound<T>, WitBound<T>),
    convert: impl Fn(T) -> anyhow::Result<U>,
) -> anyhow::Result<postgres_range::Range<U>>
where
    U: PartialOrd + postgres_range::Normalizable,
{
    let lower = lower
        .map(|(v, k)| anyhow::Ok(postgres_range::RangeBound::new(convert(v)?, bound_type(k))))
        .transpose()?;
    let upper = upper
        .map(|(v, k)| anyhow::Ok(postgres_range::RangeBound::new(convert(v)?, bound_type(k))))
        .transpose()?;
    Ok(postgres_range::Range::new(lower, upper))
}

fn from_range<T, U>(
    range: &postgres_range::Range<T>,
    convert: impl Fn(&T) -> U,
) -> (WitBound<U>, WitBound<U>)
where
    T: PartialOrd + postgres_range::Normalizable,
{
    (
        range
            .lower()
            .map(|b| (convert(&b.value), bound_kind(b.type_))),
        range
            .upper()
            .map(|b| (convert(&b.value), bound_kind(b.type_))),
    )
}

fn date(y: i32, m: u8, d: u8) -> anyhow::Result<chrono::NaiveDate> {
    chrono::NaiveDate::from_ymd_opt(y, m.into(), d.into())
        .ok_or_else(|| anyhow!("invalid date y={y}, m={m}, d={d}"))
}

fn time(h: u8, m: u8, s: u8, ns: u32) -> anyhow::Result<chrono::NaiveTime> {
    chrono::NaiveTime::from_hms_nano_opt(h.into(), m.into(), s.into(), ns)
        .ok_or_else(|| anyhow!("invalid time {h}:{m}:{s}:{ns}"))
}

/// One guest parameter as the driver's value. Each binds only to the
/// PostgreSQL types its Rust type accepts, which is what makes binding
/// strict.
fn param(value: &ParameterValue) -> anyhow::Result<Param> {
    Ok(match value {
        ParameterValue::Boolean(v) => Box::new(*v),
        // A Rust `i8` is PostgreSQL's one-byte `"char"`, as in Spin.
        ParameterValue::Int8(v) => Box::new(*v),
        ParameterValue::Int16(v) => Box::new(*v),
        ParameterValue::Int32(v) => Box::new(*v),
        ParameterValue::Int64(v) => Box::new(*v),
        ParameterValue::Floating32(v) => Box::new(*v),
        ParameterValue::Floating64(v) => Box::new(*v),
        ParameterValue::Str(v) => Box::new(v.clone()),
        ParameterValue::Binary(v) => Box::new(v.clone()),
        ParameterValue::Date((y, m, d)) => Box::new(date(*y, *m, *d)?),
        ParameterValue::Time((h, m, s, ns)) => Box::new(time(*h, *m, *s, *ns)?),
        ParameterValue::Datetime((y, mo, d, h, mi, s, ns)) => Box::new(chrono::NaiveDateTime::new(
            date(*y, *mo, *d)?,
            time(*h, *mi, *s, *ns)?,
        )),
        // Seconds since the epoch, bound as a `timestamptz`.
        ParameterValue::Timestamp(secs) => Box::new(
            chrono::DateTime::<chrono::Utc>::from_timestamp(*secs, 0)
                .ok_or_else(|| anyhow!("invalid epoch timestamp {secs}"))?,
        ),
        ParameterValue::Uuid(v) => {
            Box::new(uuid::Uuid::parse_str(v).with_context(|| format!("invalid UUID {v}"))?)
        }
        ParameterValue::Jsonb(v) => Box::new(
            serde_json::from_slice::<serde_json::Value>(v)
                .with_context(|| format!("invalid JSON {}", String::from_utf8_lossy(v)))?,
        ),
        ParameterValue::Decimal(v) => Box::new(decimal(v)?),
        ParameterValue::RangeInt32(r) => Box::new(to_range(*r, anyhow::Ok)?),
        ParameterValue::RangeInt64(r) => Box::new(to_range(*r, anyhow::Ok)?),
        ParameterValue::RangeDecimal(r) => Box::new(to_range(r.clone(), |v: String| {
            decimal(&v).map(RangeDecimal)
        })?),
        ParameterValue::ArrayInt32(v) => Box::new(v.clone()),
        ParameterValue::ArrayInt64(v) => Box::new(v.clone()),
        ParameterValue::ArrayDecimal(v) => Box::new(
            v.iter()
                .map(|d| d.as_deref().map(decimal).transpose())
                .collect::<anyhow::Result<Vec<_>>>()?,
        ),
        ParameterValue::ArrayStr(v) => Box::new(v.clone()),
        ParameterValue::Interval(v) => Box::new(PgInterval(*v)),
        ParameterValue::DbNull => Box::new(Null),
    })
}

fn params(values: &[ParameterValue]) -> anyhow::Result<Vec<Param>> {
    values.iter().map(param).collect()
}

// ---------------------------------------------------------------- results

/// The guest's name for a column's type.
fn data_type(ty: &Type) -> DbDataType {
    match *ty {
        Type::BOOL => DbDataType::Boolean,
        Type::BYTEA => DbDataType::Binary,
        Type::FLOAT4 => DbDataType::Floating32,
        Type::FLOAT8 => DbDataType::Floating64,
        Type::INT2 => DbDataType::Int16,
        Type::INT4 => DbDataType::Int32,
        Type::INT8 => DbDataType::Int64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => DbDataType::Str,
        Type::TIMESTAMP | Type::TIMESTAMPTZ => DbDataType::Datetime,
        Type::DATE => DbDataType::Date,
        Type::TIME => DbDataType::Time,
        Type::UUID => DbDataType::Uuid,
        Type::JSONB => DbDataType::Jsonb,
        Type::NUMERIC => DbDataType::Decimal,
        Type::INT4_RANGE => DbDataType::RangeInt32,
        Type::INT8_RANGE => DbDataType::RangeInt64,
        Type::NUM_RANGE => DbDataType::RangeDecimal,
        Type::INT4_ARRAY => DbDataType::ArrayInt32,
        Type::INT8_ARRAY => DbDataType::ArrayInt64,
        Type::NUMERIC_ARRAY => DbDataType::ArrayDecimal,
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => DbDataType::ArrayStr,
        Type::INTERVAL => DbDataType::Interval,
        _ => DbDataType::Other(ty.name().to_string()),
    }
}

// Column `i` read as a `T` (NULL is `db-null`) and converted.
fn read<'a, T: FromSql<'a>>(
    row: &'a Row,
    i: usize,
    convert: impl FnOnce(T) -> anyhow::Result<DbValue>,
) -> anyhow::Result<DbValue> {
    match row.try_get::<_, Option<T>>(i)? {
        Some(v) => convert(v),
        None => Ok(DbValue::DbNull),
    }
}

fn small<T: TryFrom<u32>>(n: u32) -> anyhow::Result<T>
where
    T::Error: StdError + Send + Sync + 'static,
{
    Ok(T::try_from(n)?)
}

fn datetime_value(v: chrono::NaiveDateTime) -> anyhow::Result<DbValue> {
    use chrono::{Datelike, Timelike};
    Ok(DbValue::Datetime((
        v.year(),
        small(v.month())?,
        small(v.day())?,
        small(v.hour())?,
        small(v.minute())?,
        small(v.second())?,
        v.nanosecond(),
    )))
}

/// Column `i` of `row` as the guest's value.
fn value(row: &Row, i: usize) -> anyhow::Result<DbValue> {
    use chrono::{Datelike, Timelike};
    let ty = row.columns()[i].type_().clone();
    match ty {
        Type::BOOL => read(row, i, |v: bool| Ok(DbValue::Boolean(v))),
        Type::BYTEA => read(row, i, |v: Vec<u8>| Ok(DbValue::Binary(v))),
        Type::FLOAT4 => read(row, i, |v: f32| Ok(DbValue::Floating32(v))),
        Type::FLOAT8 => read(row, i, |v: f64| Ok(DbValue::Floating64(v))),
        Type::INT2 => read(row, i, |v: i16| Ok(DbValue::Int16(v))),
        Type::INT4 => read(row, i, |v: i32| Ok(DbValue::Int32(v))),
        Type::INT8 => read(row, i, |v: i64| Ok(DbValue::Int64(v))),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => read(row, i, |v: String| Ok(DbValue::Str(v))),
        // Both read as a naive date-time, which the driver refuses for
        // `timestamptz`: such a column fails the query, as in Spin.
        Type::TIMESTAMP | Type::TIMESTAMPTZ => read(row, i, datetime_value),
        Type::DATE => read(row, i, |v: chrono::NaiveDate| {
            Ok(DbValue::Date((
                v.year(),
                small(v.month())?,
                small(v.day())?,
            )))
        }),
        Type::TIME => read(row, i, |v: chrono::NaiveTime| {
            Ok(DbValue::Time((
                small(v.hour())?,
                small(v.minute())?,
                small(v.second())?,
                v.nanosecond(),
            )))
        }),
        Type::UUID => read(row, i, |v: uuid::Uuid| Ok(DbValue::Uuid(v.to_string()))),
        Type::JSONB => read(row, i, |v: serde_json::Value| {
            Ok(DbValue::Jsonb(
                serde_json::to_vec(&v).context("invalid JSON from database")?,
            ))
        }),
        Type::NUMERIC => read(row, i, |v: rust_decimal::Decimal| {
            Ok(DbValue::Decimal(v.to_string()))
        }),
        Type::INT4_RANGE => read(row, i, |v: postgres_range::Range<i32>| {
            Ok(DbValue::RangeInt32(from_range(&v, |n| *n)))
        }),
        Type::INT8_RANGE => read(row, i, |v: postgres_range::Range<i64>| {
            Ok(DbValue::RangeInt64(from_range(&v, |n| *n)))
        }),
        Type::NUM_RANGE => read(row, i, |v: postgres_range::Range<RangeDecimal>| {
            Ok(DbValue::RangeDecimal(from_range(&v, |d| d.0.to_string())))
        }),
        Type::INT4_ARRAY => read(row, i, |v: Vec<Option<i32>>| Ok(DbValue::ArrayInt32(v))),
        Type::INT8_ARRAY => read(row, i, |v: Vec<Option<i64>>| Ok(DbValue::ArrayInt64(v))),
        Type::NUMERIC_ARRAY => read(row, i, |v: Vec<Option<rust_decimal::Decimal>>| {
            Ok(DbValue::ArrayDecimal(
                v.into_iter().map(|d| d.map(|d| d.to_string())).collect(),
            ))
        }),
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => {
            read(row, i, |v: Vec<Option<String>>| Ok(DbValue::ArrayStr(v)))
        }
        Type::INTERVAL => read(row, i, |v: PgInterval| Ok(DbValue::Interval(v.0))),
        _ => read(row, i, |v: Raw| Ok(DbValue::Unsupported(v.0))),
    }
}

// What a value costs against the result limit, counted as Spin counts it.
fn footprint(v: &DbValue) -> usize {
    let base = std::mem::size_of::<DbValue>();
    base + match v {
        DbValue::Str(s) | DbValue::Uuid(s) | DbValue::Decimal(s) => s.len(),
        DbValue::Binary(b) | DbValue::Jsonb(b) | DbValue::Unsupported(b) => b.len(),
        DbValue::ArrayInt32(a) => a.len() * std::mem::size_of::<Option<i32>>(),
        DbValue::ArrayInt64(a) => a.len() * std::mem::size_of::<Option<i64>>(),
        DbValue::ArrayDecimal(a) | DbValue::ArrayStr(a) => a
            .iter()
            .map(|s| std::mem::size_of::<Option<String>>() + s.as_ref().map_or(0, String::len))
            .sum(),
        _ => 0,
    }
}

// ---------------------------------------------------------------- calls

/// `query`: the statement's rows, converted.
pub async fn query(
    client: &deadpool_postgres::Object,
    statement: &str,
    values: &[ParameterValue],
) -> Result<RowSet, Error> {
    let bound = params(values).map_err(|e| Error::BadParameter(format!("{e:?}")))?;
    let prepared = client
        .prepare(statement)
        .await
        .map_err(|e| query_failed(&e))?;
    let columns: Vec<Column> = prepared
        .columns()
        .iter()
        .map(|c| Column {
            name: c.name().to_string(),
            data_type: data_type(c.type_()),
        })
        .collect();
    let stream = client
        .query_raw(&prepared, bound)
        .await
        .map_err(|e| query_failed(&e))?;
    futures::pin_mut!(stream);
    let mut rows = Vec::new();
    let mut size = std::mem::size_of::<RowSet>();
    loop {
        // An error the server raises while running the statement arrives
        // with the rows; Spin reports it as text, losing its fields.
        let row = match stream.try_next().await {
            Ok(Some(row)) => row,
            Ok(None) => break,
            Err(e) => return Err(text_failure(format!("{:?}", query_failed(&e)))),
        };
        let values = (0..row.len())
            .map(|i| value(&row, i))
            .collect::<anyhow::Result<Vec<_>>>()
            .map_err(|e| text_failure(format!("{e:?}")))?;
        size += values.iter().map(footprint).sum::<usize>();
        if size > MAX_RESULT_BYTES {
            return Err(text_failure(format!(
                "query result exceeds limit of {MAX_RESULT_BYTES} bytes"
            )));
        }
        rows.push(values);
    }
    Ok(RowSet { columns, rows })
}

/// `execute`: rows affected.
pub async fn execute(
    client: &deadpool_postgres::Object,
    statement: &str,
    values: &[ParameterValue],
) -> Result<u64, Error> {
    // Spin names a bad parameter differently here than in `query`.
    let bound = params(values).map_err(|e| Error::ValueConversionFailed(format!("{e:?}")))?;
    let refs: Vec<&(dyn ToSql + Sync)> = bound
        .iter()
        .map(|b| b.as_ref() as &(dyn ToSql + Sync))
        .collect();
    client
        .execute(statement, &refs)
        .await
        .map_err(|e| query_failed(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(entries: &[&str]) -> AllowList {
        AllowList::parse(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn refused(allow: &AllowList, address: &str) -> Option<String> {
        match check_address(allow, address) {
            Ok(()) => None,
            Err(Error::ConnectionFailed(text)) => Some(text),
            Err(other) => panic!("{address}: {other:?}"),
        }
    }

    #[test]
    fn every_host_of_an_address_must_be_allowed() {
        let l = allow(&["postgres://a.db", "postgres://b.db:6000"]);
        assert_eq!(refused(&l, "postgres://u@a.db/x"), None);
        assert_eq!(refused(&l, "postgres://u@a.db:5432/x"), None);
        assert_eq!(refused(&l, "host=a.db,b.db port=5432,6000 user=u"), None);
        assert_eq!(
            refused(&l, "host=a.db,b.db port=5432 user=u").as_deref(),
            Some("address postgres://b.db:5432 is not permitted")
        );
        // The driver fills in a URL's missing port with 5432.
        assert_eq!(
            refused(&l, "postgres://u@b.db/x").as_deref(),
            Some("address postgres://b.db:5432 is not permitted")
        );
        assert!(refused(&AllowList::default(), "postgres://u@a.db/x").is_some());
    }

    #[test]
    fn sockets_and_nonsense_are_refused() {
        let l = allow(&["postgres://*:*"]);
        assert!(refused(&l, "host=/var/run/postgresql user=u")
            .unwrap()
            .contains("Unix sockets"));
        assert!(refused(&l, "postgres://u@a.db:notaport/x").is_some());
    }
}
