//! Per-request context: the ports on spin-sdk plus request metadata.

use krug_core::ports::{Clock, Http, KeyValue, Random, Sql, Variables};

use crate::ports::{SpinClock, SpinHttp, SpinKv, SpinRandom, SpinSql, SpinVariables};

/// Everything a route needs besides the request. Stores open lazily.
pub struct Ctx {
    component: &'static str,
    request_id: String,
    sql: SpinSql,
    kv: SpinKv,
    clock: SpinClock,
    random: SpinRandom,
    http: SpinHttp,
    variables: SpinVariables,
}

impl Ctx {
    pub(crate) fn new(component: &'static str, request_id: String) -> Self {
        Self {
            component,
            request_id,
            sql: SpinSql::default(),
            kv: SpinKv::default(),
            clock: SpinClock,
            random: SpinRandom,
            http: SpinHttp,
            variables: SpinVariables,
        }
    }

    /// A context for work that is not an HTTP request (cron runs).
    pub fn background(component: &'static str) -> Self {
        let mut bytes = [0u8; 16];
        SpinRandom.fill(&mut bytes);
        Self::new(
            component,
            uuid::Builder::from_random_bytes(bytes)
                .into_uuid()
                .to_string(),
        )
    }

    /// The ports a scheduled job may use.
    pub fn job_env(&self) -> krug_core::jobs::JobEnv<'_> {
        krug_core::jobs::JobEnv {
            sql: &self.sql,
            kv: &self.kv,
            clock: &self.clock,
            random: &self.random,
            variables: &self.variables,
        }
    }

    /// The component's name, for logs and audit.
    pub fn component(&self) -> &'static str {
        self.component
    }

    /// This request's id (echoed as `x-request-id`).
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// SQLite `default`.
    pub fn sql(&self) -> &dyn Sql {
        &self.sql
    }

    /// SQL statements this request has sent, and how many found the
    /// database busy (each retry of a locked `BEGIN IMMEDIATE` counts).
    pub fn sql_counts(&self) -> (u32, u32) {
        self.sql.counts()
    }

    /// Key-value `default`.
    pub fn kv(&self) -> &dyn KeyValue {
        &self.kv
    }

    /// Wall clock.
    pub fn clock(&self) -> &dyn Clock {
        &self.clock
    }

    /// CSPRNG.
    pub fn random(&self) -> &dyn Random {
        &self.random
    }

    /// Outbound HTTP.
    pub fn http(&self) -> &dyn Http {
        &self.http
    }

    /// Spin variables.
    pub fn variables(&self) -> &dyn Variables {
        &self.variables
    }

    /// A variable that must be set; its absence is a deployment error (500).
    pub fn required_variable(&self, name: &str) -> Result<String, crate::ApiError> {
        self.variables
            .get(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| crate::ApiError::internal(format!("variable {name} is not set")))
    }
}
