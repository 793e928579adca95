//! Requesting a one-time code: `POST /auth/otp`.
//!
//! Limits: one code per phone per 60 s, five per phone per hour, twenty per
//! client IP per hour, counted over a sliding hour from `otp_sends`. The
//! check and the claim of the slot happen in one `BEGIN IMMEDIATE`
//! transaction, so of any number of racing requests for one phone exactly
//! one wins the 60 s slot (key-value could not do this: it has no
//! compare-and-set). The SMS goes out only after the slot is won and the
//! transaction committed — never while holding the write lock. If the
//! gateway fails, the slot and the code are released so the person can
//! retry at once, and the request answers 503 `SMS_FAILED`.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;

use super::secrets::{otp_code, otp_hash};
use super::AuthEnv;
use crate::db::{immediate, parse_ts, ts};
use crate::error::{ErrorClass, InvalidValue, UseCaseError};
use crate::params;
use crate::ports::{Http, OutboundRequest, StoreError};
use crate::types::{Id, Phone};

/// A code is valid this long.
pub const CODE_TTL_SECS: i64 = 5 * 60;
/// Minimum gap between two codes for one phone.
pub const RESEND_GAP_SECS: i64 = 60;
/// Codes per phone per sliding hour.
pub const PER_PHONE_PER_HOUR: i64 = 5;
/// Codes per client IP per sliding hour.
pub const PER_IP_PER_HOUR: i64 = 20;
/// Wrong tries that kill a code.
pub const MAX_ATTEMPTS: i64 = 5;

/// Where codes are sent.
#[derive(Debug, Clone)]
pub struct SmsGateway {
    /// `sms_gateway_url`: an origin (`scheme://host[:port]`), as Spin's
    /// `allowed_outbound_hosts` needs.
    pub url: String,
    /// `sms_gateway_path`: appended to the origin (default `/`).
    pub path: String,
    /// `sms_gateway_token`, sent as `Authorization: Bearer`.
    pub token: String,
}

impl SmsGateway {
    /// The full URL requests go to.
    pub fn endpoint(&self) -> String {
        let origin = self.url.trim_end_matches('/');
        let path = self.path.trim();
        if path.is_empty() {
            format!("{origin}/")
        } else if path.starts_with('/') {
            format!("{origin}{path}")
        } else {
            format!("{origin}/{path}")
        }
    }
}

/// `202 {expires_in}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OtpSent {
    /// Seconds the code stays valid.
    pub expires_in: i64,
}

/// Requesting a code failed.
#[derive(Debug, thiserror::Error)]
pub enum RequestOtpError {
    /// The phone is not a Russian number.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// A code was sent to this phone less than 60 s ago.
    #[error("a code was sent less than a minute ago; retry in {retry_after} s")]
    TooSoon {
        /// Seconds until a new code can be sent.
        retry_after: u64,
    },
    /// Too many codes for this phone or from this address in the last hour.
    #[error("too many codes requested; retry in {retry_after} s")]
    TooMany {
        /// Seconds until a new code can be sent.
        retry_after: u64,
    },
    /// The SMS gateway did not accept the message.
    #[error("the code could not be sent; retry shortly")]
    SmsFailed(String),
    /// Storage failed.
    #[error(transparent)]
    Unknown(#[from] StoreError),
}

impl UseCaseError for RequestOtpError {
    fn code(&self) -> &'static str {
        match self {
            RequestOtpError::Invalid(e) => e.code(),
            RequestOtpError::TooSoon { .. } => "OTP_TOO_SOON",
            RequestOtpError::TooMany { .. } => "OTP_RATE_LIMITED",
            RequestOtpError::SmsFailed(_) => "SMS_FAILED",
            RequestOtpError::Unknown(e) => e.code(),
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            RequestOtpError::Invalid(e) => e.class(),
            RequestOtpError::TooSoon { retry_after } | RequestOtpError::TooMany { retry_after } => {
                ErrorClass::RateLimited {
                    retry_after_secs: *retry_after,
                }
            }
            RequestOtpError::SmsFailed(_) => ErrorClass::Unavailable,
            RequestOtpError::Unknown(e) => e.class(),
        }
    }
}

/// Whole seconds from `now` until `at`, rounded up, at least 1.
fn secs_until(at: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    let ms = (at - now).num_milliseconds().max(0);
    u64::try_from((ms + 999) / 1000).unwrap_or(1).max(1)
}

/// What the send log says for one phone and one IP over the last hour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendCounts {
    /// Codes to the phone in the last hour.
    pub phone_count: i64,
    /// The phone's oldest send in the window.
    pub phone_oldest: Option<DateTime<Utc>>,
    /// The phone's latest send.
    pub phone_latest: Option<DateTime<Utc>>,
    /// Codes from the IP in the last hour.
    pub ip_count: i64,
    /// The IP's oldest send in the window.
    pub ip_oldest: Option<DateTime<Utc>>,
}

/// The rate-limit rules: `Ok` when a code may be sent now, otherwise the
/// error with the longest wait among the limits hit.
pub fn check_limits(c: &SendCounts, now: DateTime<Utc>) -> Result<(), RequestOtpError> {
    let hour = Duration::hours(1);
    let mut hourly: Option<u64> = None;
    if c.phone_count >= PER_PHONE_PER_HOUR {
        if let Some(oldest) = c.phone_oldest {
            hourly = Some(secs_until(oldest + hour, now));
        }
    }
    if c.ip_count >= PER_IP_PER_HOUR {
        if let Some(oldest) = c.ip_oldest {
            hourly = Some(hourly.unwrap_or(0).max(secs_until(oldest + hour, now)));
        }
    }
    let gap = c
        .phone_latest
        .filter(|l| now < *l + Duration::seconds(RESEND_GAP_SECS))
        .map(|l| secs_until(l + Duration::seconds(RESEND_GAP_SECS), now));
    match (hourly, gap) {
        (Some(h), g) => Err(RequestOtpError::TooMany {
            retry_after: h.max(g.unwrap_or(0)),
        }),
        (None, Some(g)) => Err(RequestOtpError::TooSoon { retry_after: g }),
        (None, None) => Ok(()),
    }
}

fn opt_time(v: Option<String>) -> Result<Option<DateTime<Utc>>, StoreError> {
    v.map(|t| parse_ts(&t)).transpose()
}

/// Sends a new code to `raw_phone` for a request from `client_ip`.
pub fn request_code(
    env: &AuthEnv<'_>,
    http: &dyn Http,
    jwt_secret: &str,
    gateway: &SmsGateway,
    raw_phone: &str,
    client_ip: &str,
) -> Result<OtpSent, RequestOtpError> {
    let phone = Phone::parse(raw_phone)?;
    let now = env.clock.now();
    let code = otp_code(env.random);
    let code_hash = otp_hash(jwt_secret, phone.as_str(), &code);
    let send_id = Id::at(now, env.random).to_text();
    let window_start = ts(now - Duration::hours(1));

    immediate(env.sql, |tx| -> Result<(), RequestOtpError> {
        // Housekeeping: the log only ever needs the last hour.
        tx.execute(
            "DELETE FROM otp_sends WHERE at <= ?",
            &params![window_start.as_str()],
        )?;
        let p = tx.execute(
            "SELECT COUNT(*) AS n, MIN(at) AS oldest, MAX(at) AS latest FROM otp_sends WHERE phone = ? AND at > ?",
            &params![phone.as_str(), window_start.as_str()],
        )?;
        let i = tx.execute(
            "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM otp_sends WHERE ip = ? AND at > ?",
            &params![client_ip, window_start.as_str()],
        )?;
        let (p, i) = (
            p.first()
                .ok_or_else(|| StoreError::Other("no count row".into()))?,
            i.first()
                .ok_or_else(|| StoreError::Other("no count row".into()))?,
        );
        check_limits(
            &SendCounts {
                phone_count: p.i64("n")?,
                phone_oldest: opt_time(p.opt_text("oldest")?)?,
                phone_latest: opt_time(p.opt_text("latest")?)?,
                ip_count: i.i64("n")?,
                ip_oldest: opt_time(i.opt_text("oldest")?)?,
            },
            now,
        )?;
        tx.execute(
            "INSERT INTO otp_sends (id, phone, ip, at) VALUES (?, ?, ?, ?)",
            &params![send_id.as_str(), phone.as_str(), client_ip, ts(now)],
        )?;
        // A new code replaces any earlier one and resets its tries.
        tx.execute(
            "INSERT INTO otp_challenges (phone, code_hash, expires_at, attempts, sent_at) VALUES (?, ?, ?, 0, ?) \
             ON CONFLICT (phone) DO UPDATE SET code_hash = excluded.code_hash, expires_at = excluded.expires_at, \
             attempts = 0, sent_at = excluded.sent_at",
            &params![
                phone.as_str(),
                code_hash.as_str(),
                ts(now + Duration::seconds(CODE_TTL_SECS)),
                ts(now)
            ],
        )?;
        Ok(())
    })?;

    if let Err(cause) = send_sms(http, gateway, &phone, &code) {
        immediate(env.sql, |tx| -> Result<(), StoreError> {
            tx.execute(
                "DELETE FROM otp_sends WHERE id = ?",
                &params![send_id.as_str()],
            )?;
            tx.execute(
                "UPDATE otp_challenges SET code_hash = NULL WHERE phone = ? AND code_hash = ?",
                &params![phone.as_str(), code_hash.as_str()],
            )?;
            Ok(())
        })?;
        return Err(RequestOtpError::SmsFailed(cause));
    }
    Ok(OtpSent {
        expires_in: CODE_TTL_SECS,
    })
}

/// The message text; the code is the only six-digit run in it.
pub fn sms_text(code: &str) -> String {
    format!("Krug: код {code}. Никому его не сообщайте. Действует пять минут.")
}

fn send_sms(
    http: &dyn Http,
    gateway: &SmsGateway,
    phone: &Phone,
    code: &str,
) -> Result<(), String> {
    if gateway.url.trim().is_empty() {
        return Err("sms_gateway_url is not set".into());
    }
    let body = json!({ "to": phone.as_str(), "text": sms_text(code) })
        .to_string()
        .into_bytes();
    let resp = http
        .send(OutboundRequest {
            method: "POST".into(),
            url: gateway.endpoint(),
            // An explicit length: simple gateways do not read chunked bodies.
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("content-length".into(), body.len().to_string()),
                ("authorization".into(), format!("Bearer {}", gateway.token)),
            ],
            body,
        })
        .map_err(|e| e.to_string())?;
    if (200..300).contains(&resp.status) {
        Ok(())
    } else {
        Err(format!("SMS gateway answered {}", resp.status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap()
    }

    fn secs(s: i64) -> DateTime<Utc> {
        t0() + Duration::seconds(s)
    }

    fn retry(e: RequestOtpError) -> (&'static str, u64) {
        match e {
            RequestOtpError::TooSoon { retry_after } => ("soon", retry_after),
            RequestOtpError::TooMany { retry_after } => ("many", retry_after),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn first_code_is_allowed() {
        assert!(check_limits(&SendCounts::default(), t0()).is_ok());
    }

    #[test]
    fn resend_gap_is_sixty_seconds() {
        let c = SendCounts {
            phone_count: 1,
            phone_oldest: Some(t0()),
            phone_latest: Some(t0()),
            ..Default::default()
        };
        assert_eq!(retry(check_limits(&c, secs(0)).unwrap_err()), ("soon", 60));
        assert_eq!(retry(check_limits(&c, secs(59)).unwrap_err()), ("soon", 1));
        let almost = t0() + Duration::milliseconds(59_500);
        assert_eq!(retry(check_limits(&c, almost).unwrap_err()), ("soon", 1));
        assert!(check_limits(&c, secs(60)).is_ok());
    }

    #[test]
    fn five_per_phone_per_hour() {
        let c = SendCounts {
            phone_count: 5,
            phone_oldest: Some(t0()),
            phone_latest: Some(secs(600)),
            ..Default::default()
        };
        assert_eq!(
            retry(check_limits(&c, secs(700)).unwrap_err()),
            ("many", 2900)
        );
        let four = SendCounts {
            phone_count: 4,
            ..c.clone()
        };
        assert!(check_limits(&four, secs(700)).is_ok());
    }

    #[test]
    fn twenty_per_ip_per_hour_and_longest_wait_wins() {
        let c = SendCounts {
            ip_count: 20,
            ip_oldest: Some(t0()),
            phone_count: 1,
            phone_latest: Some(secs(3590)),
            phone_oldest: Some(secs(3590)),
        };
        // IP window frees at 3600, the phone gap at 3650: report the later.
        assert_eq!(
            retry(check_limits(&c, secs(3595)).unwrap_err()),
            ("many", 55)
        );
        let ip_only = SendCounts {
            ip_count: 20,
            ip_oldest: Some(t0()),
            ..Default::default()
        };
        assert_eq!(
            retry(check_limits(&ip_only, secs(100)).unwrap_err()),
            ("many", 3500)
        );
    }

    #[test]
    fn gateway_endpoint_joins_origin_and_path() {
        let g = |url: &str, path: &str| SmsGateway {
            url: url.into(),
            path: path.into(),
            token: String::new(),
        };
        assert_eq!(
            g("http://127.0.0.1:9", "").endpoint(),
            "http://127.0.0.1:9/"
        );
        assert_eq!(
            g("http://127.0.0.1:9/", "/").endpoint(),
            "http://127.0.0.1:9/"
        );
        assert_eq!(
            g("https://sms.example", "/v1/send").endpoint(),
            "https://sms.example/v1/send"
        );
        assert_eq!(
            g("https://sms.example", "v1/send").endpoint(),
            "https://sms.example/v1/send"
        );
    }

    #[test]
    fn sms_text_carries_the_code_once() {
        let t = sms_text("012345");
        assert!(t.contains("012345"));
        assert_eq!(t.matches(|c: char| c.is_ascii_digit()).count(), 6, "{t}");
    }
}
