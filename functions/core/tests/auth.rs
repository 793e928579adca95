//! Auth repositories and use cases against real SQLite files with every
//! migration applied: login, rate limits under racing requests, code tries,
//! refresh rotation and reuse, logout, erasure, staff, API keys, and the
//! wallet reading what auth writes.

// `params!` builds a Vec that is then borrowed as the statement's slice.
#![allow(clippy::useless_vec)]

use std::{
    path::Path,
    sync::{Arc, Barrier, Mutex},
    thread,
};

use chrono::{DateTime, Duration, TimeZone, Utc};
use krug_core::{
    audit::{self, AuditFilter},
    auth::{
        self, api_keys, businesses,
        login::{self, Consents, LoginResult, RefreshError, VerifyCode, VerifyError},
        members::{self, ProfileChanges, RawProfilePatch},
        otp::{self, RequestOtpError, SmsGateway},
        staff::{self, StaffError},
        Actor, AuthEnv, AuthError, AuthSettings, Need, Principal, Role, StaffRole,
    },
    migrate,
    native::{ManualClock, NativeSql, OsRandom, SystemClock},
    params,
    ports::{Clock, Http, HttpError, OutboundRequest, OutboundResponse, Sql, SqlValue},
};

const SECRET: &str = "auth-test-secret";
const PHONE: &str = "+79990001122";
const ADMIN: &str = "+79995550000";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
}

/// An SMS gateway stand-in that records messages and can be told to fail.
#[derive(Default)]
struct Sms {
    sent: Mutex<Vec<OutboundRequest>>,
    fail: Mutex<bool>,
}

impl Http for Sms {
    fn send(&self, req: OutboundRequest) -> Result<OutboundResponse, HttpError> {
        if *self.fail.lock().unwrap() {
            return Err(HttpError::Failed("gateway down".into()));
        }
        self.sent.lock().unwrap().push(req);
        Ok(OutboundResponse {
            status: 200,
            headers: vec![],
            body: b"{}".to_vec(),
        })
    }
}

impl Sms {
    fn count(&self) -> usize {
        self.sent.lock().unwrap().len()
    }

    /// The code in the last message to `phone`.
    fn last_code(&self, phone: &str) -> String {
        let sent = self.sent.lock().unwrap();
        let req = sent
            .iter()
            .rev()
            .find(|r| serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["to"] == phone)
            .expect("an SMS to this phone");
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        extract_code(body["text"].as_str().unwrap())
    }
}

fn extract_code(text: &str) -> String {
    let digits: Vec<char> = text.chars().collect();
    for w in digits.windows(6) {
        if w.iter().all(char::is_ascii_digit) {
            return w.iter().collect();
        }
    }
    panic!("no code in {text}")
}

struct World {
    sql: NativeSql,
    clock: ManualClock,
    random: OsRandom,
    sms: Sms,
    settings: AuthSettings,
    gateway: SmsGateway,
    _dir: tempfile::TempDir,
}

fn migrated(path: &Path) -> NativeSql {
    let sql = NativeSql::open(path).unwrap();
    migrate::migrate(&sql, &SystemClock).unwrap();
    sql
}

impl World {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sql = migrated(&dir.path().join("db"));
        Self {
            sql,
            clock: ManualClock::at(t0()),
            random: OsRandom,
            sms: Sms::default(),
            settings: AuthSettings::new(SECRET, ADMIN).0,
            gateway: SmsGateway {
                url: "http://127.0.0.1:9".into(),
                path: "/send".into(),
                token: "sms-token".into(),
            },
            _dir: dir,
        }
    }

    fn path(&self) -> std::path::PathBuf {
        self._dir.path().join("db")
    }

    fn env(&self) -> AuthEnv<'_> {
        AuthEnv {
            sql: &self.sql,
            clock: &self.clock,
            random: &self.random,
            request_id: Some("req-1"),
        }
    }

    fn advance(&self, secs: i64) {
        self.clock.advance(Duration::seconds(secs));
    }

    fn request(&self, phone: &str) -> Result<otp::OtpSent, RequestOtpError> {
        self.request_from(phone, "10.0.0.1")
    }

    fn request_from(&self, phone: &str, ip: &str) -> Result<otp::OtpSent, RequestOtpError> {
        otp::request_code(&self.env(), &self.sms, SECRET, &self.gateway, phone, ip)
    }

    fn verify(&self, phone: &str, code: &str, consent: bool) -> Result<LoginResult, VerifyError> {
        login::verify_code(
            &self.env(),
            &self.settings,
            &VerifyCode {
                phone: phone.into(),
                code: code.into(),
                first_name: Some(" Анна ".into()),
                consents: consent.then_some(Consents {
                    personal_data: true,
                    marketing: false,
                }),
                ..Default::default()
            },
        )
    }

    /// Requests a code and logs in with it.
    fn login(&self, phone: &str) -> LoginResult {
        self.request(phone).unwrap();
        let code = self.sms.last_code(phone);
        self.verify(phone, &code, true).unwrap()
    }

    fn resolve(&self, bearer: &str) -> Result<Principal, AuthError> {
        auth::resolve(&self.sql, &self.clock, SECRET, bearer)
    }

    fn count(&self, query: &str) -> i64 {
        match &self.sql.execute(query, &[]).unwrap().rows[0][0] {
            SqlValue::Integer(i) => *i,
            other => panic!("{other:?}"),
        }
    }
}

fn wrong(code: &str) -> String {
    let d = (code.as_bytes()[0] - b'0' + 1) % 10;
    format!("{d}{}", &code[1..])
}

#[test]
fn full_login_registers_then_recognises_the_member() {
    let w = World::new();
    let sent = w.request("8 (999) 000-11-22").unwrap();
    assert_eq!(sent.expires_in, 300);
    let sms = w.sms.sent.lock().unwrap()[0].clone();
    assert_eq!(sms.method, "POST");
    assert_eq!(sms.url, "http://127.0.0.1:9/send");
    assert!(sms
        .headers
        .contains(&("authorization".into(), "Bearer sms-token".into())));
    let body: serde_json::Value = serde_json::from_slice(&sms.body).unwrap();
    assert_eq!(body["to"], PHONE);

    let code = w.sms.last_code(PHONE);
    let first = w.verify(PHONE, &code, true).unwrap();
    assert!(first.member.is_new);
    assert_eq!(first.member.phone, PHONE);
    assert_eq!(first.member.tier, "insider");
    assert_eq!(first.tokens.token_type, "Bearer");
    assert_eq!(first.tokens.expires_in, 900);
    // The code is single-use.
    assert!(matches!(
        w.verify(PHONE, &code, true),
        Err(VerifyError::InvalidCode)
    ));

    let p = w.resolve(&first.tokens.access_token).unwrap();
    assert_eq!(p.member_id(), Some(first.member.id.as_str()));
    let m = members::by_id(&w.sql, &first.member.id).unwrap().unwrap();
    assert_eq!(m.first_name.as_deref(), Some("Анна"));
    assert_eq!(m.card_number.as_ref().unwrap().len(), 13);
    assert_eq!(m.referral_code.as_ref().unwrap().len(), 8);
    assert_eq!(
        w.count("SELECT COUNT(*) FROM consents WHERE kind = 'personal_data' AND granted = 1 AND text_version = '2026-11-01'"),
        1
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM otp_challenges WHERE code_hash IS NOT NULL"),
        0
    );

    w.advance(61);
    let again = w.login(PHONE);
    assert!(!again.member.is_new);
    assert_eq!(again.member.id, first.member.id);
    assert_eq!(w.count("SELECT COUNT(*) FROM members"), 1);
}

#[test]
fn admin_phones_get_the_admin_role() {
    let w = World::new();
    let admin = w.login(ADMIN);
    assert!(admin.member.roles.contains(&Role::Admin));
    assert!(w.resolve(&admin.tokens.access_token).unwrap().is_admin());
    let member = w.login(PHONE);
    assert_eq!(member.member.roles, vec![Role::Member]);
}

#[test]
fn a_new_member_must_consent_and_the_code_survives_the_refusal() {
    let w = World::new();
    w.request(PHONE).unwrap();
    let code = w.sms.last_code(PHONE);
    assert!(matches!(
        w.verify(PHONE, &code, false),
        Err(VerifyError::ConsentRequired)
    ));
    assert_eq!(w.count("SELECT COUNT(*) FROM members"), 0);
    assert_eq!(w.count("SELECT COUNT(*) FROM consents"), 0);
    assert!(w.verify(PHONE, &code, true).unwrap().member.is_new);
}

#[test]
fn five_wrong_tries_kill_the_code() {
    let w = World::new();
    w.request(PHONE).unwrap();
    let code = w.sms.last_code(PHONE);
    for _ in 0..5 {
        assert!(matches!(
            w.verify(PHONE, &wrong(&code), true),
            Err(VerifyError::InvalidCode)
        ));
    }
    assert!(matches!(
        w.verify(PHONE, &code, true),
        Err(VerifyError::InvalidCode)
    ));
    assert_eq!(w.count("SELECT COUNT(*) FROM members"), 0);
}

#[test]
fn four_wrong_tries_leave_the_code_usable() {
    let w = World::new();
    w.request(PHONE).unwrap();
    let code = w.sms.last_code(PHONE);
    for _ in 0..4 {
        assert!(w.verify(PHONE, &wrong(&code), true).is_err());
    }
    assert!(w.verify(PHONE, &code, true).is_ok());
}

#[test]
fn codes_expire_after_five_minutes() {
    let w = World::new();
    w.request(PHONE).unwrap();
    let code = w.sms.last_code(PHONE);
    w.advance(300);
    assert!(matches!(
        w.verify(PHONE, &code, true),
        Err(VerifyError::InvalidCode)
    ));
}

#[test]
fn malformed_verification_input_is_invalid_not_a_try() {
    let w = World::new();
    w.request(PHONE).unwrap();
    let code = w.sms.last_code(PHONE);
    for bad in ["12345", "1234567", "12a456", ""] {
        assert!(matches!(
            w.verify(PHONE, bad, true),
            Err(VerifyError::Invalid(_))
        ));
    }
    assert!(matches!(
        w.verify("12345", &code, true),
        Err(VerifyError::Invalid(_))
    ));
    assert_eq!(w.count("SELECT attempts FROM otp_challenges"), 0);
    assert!(w.verify(PHONE, &code, true).is_ok());
}

#[test]
fn resend_limits_per_phone() {
    let w = World::new();
    w.request(PHONE).unwrap();
    match w.request(PHONE) {
        Err(RequestOtpError::TooSoon { retry_after }) => assert_eq!(retry_after, 60),
        other => panic!("{other:?}"),
    }
    w.advance(30);
    match w.request(PHONE) {
        Err(RequestOtpError::TooSoon { retry_after }) => assert_eq!(retry_after, 30),
        other => panic!("{other:?}"),
    }
    // A new code replaces the old one.
    let old = w.sms.last_code(PHONE);
    w.advance(30);
    w.request(PHONE).unwrap();
    let new = w.sms.last_code(PHONE);
    if old != new {
        assert!(w.verify(PHONE, &old, true).is_err());
    }
    for _ in 0..3 {
        w.advance(60);
        w.request(PHONE).unwrap();
    }
    assert_eq!(w.sms.count(), 5);
    w.advance(60);
    match w.request(PHONE) {
        // The first of the five was sent 300 s ago.
        Err(RequestOtpError::TooMany { retry_after }) => assert_eq!(retry_after, 3300),
        other => panic!("{other:?}"),
    }
    w.advance(3300);
    w.request(PHONE).unwrap();
    assert_eq!(w.sms.count(), 6);
}

#[test]
fn twenty_codes_per_ip_per_hour() {
    let w = World::new();
    for i in 0..20 {
        w.request_from(&format!("+7999100{i:04}"), "10.9.9.9")
            .unwrap();
    }
    assert!(matches!(
        w.request_from("+79992000000", "10.9.9.9"),
        Err(RequestOtpError::TooMany { .. })
    ));
    // Another address is not affected.
    w.request_from("+79992000000", "10.9.9.8").unwrap();
    w.advance(3600);
    w.request_from("+79992000001", "10.9.9.9").unwrap();
}

#[test]
fn a_failed_sms_releases_the_slot() {
    let w = World::new();
    *w.sms.fail.lock().unwrap() = true;
    assert!(matches!(
        w.request(PHONE),
        Err(RequestOtpError::SmsFailed(_))
    ));
    assert_eq!(w.count("SELECT COUNT(*) FROM otp_sends"), 0);
    *w.sms.fail.lock().unwrap() = false;
    w.request(PHONE).unwrap();
    assert_eq!(w.sms.count(), 1);
}

#[test]
fn racing_requests_for_one_phone_send_exactly_one_code() {
    let w = World::new();
    let path = w.path();
    let sms = Arc::new(Sms::default());
    let clock = Arc::new(ManualClock::at(t0()));
    let barrier = Arc::new(Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let (path, sms, clock, barrier) =
                (path.clone(), sms.clone(), clock.clone(), barrier.clone());
            let gateway = w.gateway.clone();
            thread::spawn(move || {
                let sql = NativeSql::open(&path).unwrap();
                let env = AuthEnv {
                    sql: &sql,
                    clock: &*clock,
                    random: &OsRandom,
                    request_id: None,
                };
                barrier.wait();
                otp::request_code(&env, &*sms, SECRET, &gateway, PHONE, "10.0.0.1")
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(results
        .iter()
        .filter(|r| r.is_err())
        .all(|r| matches!(r, Err(RequestOtpError::TooSoon { .. }))));
    assert_eq!(sms.count(), 1);
    assert_eq!(w.count("SELECT COUNT(*) FROM otp_sends"), 1);
}

#[test]
fn refresh_rotates_and_reuse_revokes_the_login() {
    let w = World::new();
    let login = w.login(PHONE);
    let first = login.tokens.refresh_token.clone();
    let second = login::refresh_tokens(&w.env(), &w.settings, &first).unwrap();
    assert_ne!(second.refresh_token, first);
    assert!(w.resolve(&second.access_token).is_ok());
    let third = login::refresh_tokens(&w.env(), &w.settings, &second.refresh_token).unwrap();

    // Presenting the first token again: theft suspected.
    assert!(matches!(
        login::refresh_tokens(&w.env(), &w.settings, &first),
        Err(RefreshError::TokenReused)
    ));
    // Everything of that login is dead, including the newest pair.
    assert!(matches!(
        login::refresh_tokens(&w.env(), &w.settings, &third.refresh_token),
        Err(RefreshError::InvalidToken)
    ));
    for access in [
        &login.tokens.access_token,
        &second.access_token,
        &third.access_token,
    ] {
        assert!(matches!(w.resolve(access), Err(AuthError::Unauthorized)));
    }
    let page = audit::list(
        &w.sql,
        &AuditFilter {
            subject_type: Some("member".into()),
            subject_id: Some(login.member.id.clone()),
        },
        100,
        None,
    )
    .unwrap();
    assert!(page
        .items
        .iter()
        .any(|e| e.action == "session.reuse_detected"));
    // Another login of the same member is unaffected.
    w.advance(61);
    let other = w.login(PHONE);
    assert!(w.resolve(&other.tokens.access_token).is_ok());
}

#[test]
fn refresh_tokens_expire_after_thirty_days() {
    let w = World::new();
    let login = w.login(PHONE);
    w.advance(30 * 86_400);
    assert!(matches!(
        login::refresh_tokens(&w.env(), &w.settings, &login.tokens.refresh_token),
        Err(RefreshError::InvalidToken)
    ));
    for garbage in ["", "short", &"x".repeat(43), &"a".repeat(500)] {
        assert!(matches!(
            login::refresh_tokens(&w.env(), &w.settings, garbage),
            Err(RefreshError::InvalidToken)
        ));
    }
}

#[test]
fn racing_refreshes_of_one_token_let_one_win() {
    let w = World::new();
    let login = w.login(PHONE);
    let path = w.path();
    let barrier = Arc::new(Barrier::new(8));
    let clock = Arc::new(ManualClock::at(w.clock.now()));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (path, barrier, clock) = (path.clone(), barrier.clone(), clock.clone());
            let token = login.tokens.refresh_token.clone();
            let settings = w.settings.clone();
            thread::spawn(move || {
                let sql = NativeSql::open(&path).unwrap();
                let env = AuthEnv {
                    sql: &sql,
                    clock: &*clock,
                    random: &OsRandom,
                    request_id: None,
                };
                barrier.wait();
                login::refresh_tokens(&env, &settings, &token).map(|_| ())
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(results
        .iter()
        .any(|r| matches!(r, Err(RefreshError::TokenReused))));
    assert_eq!(
        w.count("SELECT COUNT(*) FROM login_families WHERE revoked_at IS NOT NULL"),
        1
    );
}

#[test]
fn logout_ends_the_login() {
    let w = World::new();
    let login = w.login(PHONE);
    login::logout(&w.env(), &login.tokens.refresh_token).unwrap();
    assert!(matches!(
        w.resolve(&login.tokens.access_token),
        Err(AuthError::Unauthorized)
    ));
    assert!(matches!(
        login::refresh_tokens(&w.env(), &w.settings, &login.tokens.refresh_token),
        Err(RefreshError::InvalidToken)
    ));
    // Again: a no-op. A token never issued: invalid.
    login::logout(&w.env(), &login.tokens.refresh_token).unwrap();
    assert!(matches!(
        login::logout(&w.env(), &"A".repeat(43)),
        Err(RefreshError::InvalidToken)
    ));
}

#[test]
fn access_tokens_expire_with_the_clock() {
    let w = World::new();
    let login = w.login(PHONE);
    w.advance(899);
    assert!(w.resolve(&login.tokens.access_token).is_ok());
    w.advance(1);
    assert!(matches!(
        w.resolve(&login.tokens.access_token),
        Err(AuthError::Expired)
    ));
}

#[test]
fn profile_updates_are_validated_and_audited_without_values() {
    let w = World::new();
    let login = w.login(PHONE);
    let actor = Actor {
        id: Some(login.member.id.clone()),
        role: "member",
    };
    let changes = ProfileChanges::parse(
        &RawProfilePatch {
            email: Some(Some("anna@example.ru".into())),
            birth_date: Some(Some("1990-05-17".into())),
            city: Some(Some("Казань".into())),
            last_name: Some(Some("Иванова".into())),
            ..Default::default()
        },
        w.clock.now(),
    )
    .unwrap();
    let p = members::update_profile(
        &w.env(),
        &actor,
        &login.member.id,
        &[Role::Member],
        &changes,
    )
    .unwrap();
    assert_eq!(p.member.email.as_deref(), Some("anna@example.ru"));
    assert_eq!(p.member.birth_date.as_deref(), Some("1990-05-17"));
    assert_eq!(p.member.city.as_deref(), Some("Казань"));
    let clear = ProfileChanges::parse(
        &RawProfilePatch {
            city: Some(None),
            ..Default::default()
        },
        w.clock.now(),
    )
    .unwrap();
    let p = members::update_profile(&w.env(), &actor, &login.member.id, &[Role::Member], &clear)
        .unwrap();
    assert_eq!(p.member.city, None);
    assert_eq!(p.member.email.as_deref(), Some("anna@example.ru"));
    let log = audit::list(&w.sql, &AuditFilter::default(), 100, None).unwrap();
    let updates: Vec<_> = log
        .items
        .iter()
        .filter(|e| e.action == "member.updated")
        .collect();
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[0].request_id.as_deref(), Some("req-1"));
    let dump = serde_json::to_string(&log.items).unwrap();
    assert!(!dump.contains("anna@example.ru") && !dump.contains(PHONE));
}

#[test]
fn erasure_anonymises_revokes_and_frees_the_phone() {
    let w = World::new();
    let login = w.login(PHONE);
    let id = login.member.id.clone();
    let actor = Actor {
        id: Some(id.clone()),
        role: "member",
    };
    // A ledger-like row keyed by member id survives erasure untouched.
    w.sql
        .execute(
            "CREATE TABLE purchases_probe (member_id TEXT, amount INTEGER)",
            &[],
        )
        .unwrap();
    w.sql
        .execute(
            "INSERT INTO purchases_probe VALUES (?, 1000)",
            &params![id.as_str()],
        )
        .unwrap();

    members::erase(&w.env(), &actor, &id).unwrap();
    let m = members::by_id(&w.sql, &id).unwrap().unwrap();
    assert!(m.erased_at.is_some());
    for field in [
        &m.phone,
        &m.first_name,
        &m.last_name,
        &m.email,
        &m.birth_date,
        &m.city,
        &m.card_number,
        &m.referral_code,
    ] {
        assert_eq!(field, &None);
    }
    assert!(matches!(
        w.resolve(&login.tokens.access_token),
        Err(AuthError::Unauthorized)
    ));
    assert!(login::refresh_tokens(&w.env(), &w.settings, &login.tokens.refresh_token).is_err());
    assert!(matches!(
        members::erase(&w.env(), &actor, &id),
        Err(members::ProfileError::NotFound)
    ));
    assert_eq!(
        w.count("SELECT COUNT(*) FROM purchases_probe WHERE member_id IS NOT NULL"),
        1
    );

    // The phone registers again as someone new.
    let again = w.login(PHONE);
    assert!(again.member.is_new);
    assert_ne!(again.member.id, id);
    let dump = serde_json::to_string(
        &audit::list(&w.sql, &AuditFilter::default(), 100, None)
            .unwrap()
            .items,
    )
    .unwrap();
    assert!(dump.contains("member.erased"));
    assert!(!dump.contains(PHONE));
}

fn admin_actor() -> Actor {
    Actor {
        id: Some("admin-1".into()),
        role: "admin",
    }
}

fn new_business(w: &World, name: &str) -> businesses::Business {
    businesses::create(
        &w.env(),
        &admin_actor(),
        &businesses::RawNewBusiness {
            name: name.into(),
            category: "floristry".into(),
            timezone: Some("Asia/Yekaterinburg".into()),
            points_multiplier: Some(1.5),
            medical: Some(false),
        },
    )
    .unwrap()
}

#[test]
fn businesses_are_created_listed_and_read_by_the_wallet() {
    let w = World::new();
    let b = new_business(&w, " Цветы ");
    assert_eq!(b.name, "Цветы");
    assert_eq!(b.timezone, "Asia/Yekaterinburg");
    assert_eq!(b.points_multiplier, 1.5);
    // Stored as the REAL the wallet reads back as an exact decimal.
    let stored = w
        .sql
        .execute(
            "SELECT points_multiplier FROM businesses WHERE id = ?",
            &params![b.id.as_str()],
        )
        .unwrap();
    let SqlValue::Real(f) = stored.rows[0][0] else {
        panic!("{stored:?}");
    };
    assert_eq!(
        krug_core::wallet::cashback::Ratio::from_f64(f, "m").unwrap(),
        krug_core::wallet::cashback::Ratio::parse_decimal("1.5", "m").unwrap()
    );
    w.advance(1);
    let defaults = businesses::create(
        &w.env(),
        &admin_actor(),
        &businesses::RawNewBusiness {
            name: "Second".into(),
            category: "dentistry".into(),
            medical: Some(true),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(defaults.timezone, "Europe/Moscow");
    assert_eq!(defaults.points_multiplier, 1.0);
    let page = businesses::list(&w.sql, None, 1, None).unwrap();
    assert_eq!(page.items.len(), 1);
    let cursor =
        krug_core::pagination::Cursor::decode(page.next_cursor.as_deref().unwrap()).unwrap();
    let next = businesses::list(&w.sql, None, 1, Some(&cursor)).unwrap();
    assert_eq!(next.items[0].id, defaults.id);
    assert_eq!(next.next_cursor, None);
    for (cat, mult) in [
        ("shoes", None),
        ("beauty", Some(0.05)),
        ("beauty", Some(1.234)),
    ] {
        assert!(businesses::create(
            &w.env(),
            &admin_actor(),
            &businesses::RawNewBusiness {
                name: "X".into(),
                category: cat.into(),
                points_multiplier: mult,
                ..Default::default()
            },
        )
        .is_err());
    }
    assert_eq!(w.count("SELECT COUNT(*) FROM businesses"), 2);
}

#[test]
fn members_created_by_login_are_visible_to_the_wallet() {
    let w = World::new();
    let login = w.login(PHONE);
    let m = krug_core::wallet::member::by_id(&w.sql, &login.member.id)
        .unwrap()
        .unwrap();
    assert_eq!(m.first_name.as_deref(), Some("Анна"));
    let card =
        krug_core::wallet::card::CardNumber::parse(m.card_number.as_deref().unwrap(), "c").unwrap();
    assert_eq!(card.as_str().len(), 13);
}

#[test]
fn staff_are_added_by_phone_to_one_business() {
    let w = World::new();
    let a = new_business(&w, "A");
    let b = new_business(&w, "B");
    let owner = w.login(PHONE);
    assert!(matches!(
        staff::add(&w.env(), &admin_actor(), &a.id, "+79990009999", "owner"),
        Err(StaffError::MemberNotFound)
    ));
    assert!(matches!(
        staff::add(&w.env(), &admin_actor(), &a.id, PHONE, "boss"),
        Err(StaffError::Invalid(_))
    ));
    let (row, created) = staff::add(&w.env(), &admin_actor(), &a.id, PHONE, "owner").unwrap();
    assert!(created);
    assert_eq!(row.role, StaffRole::Owner);
    assert!(matches!(
        staff::add(&w.env(), &admin_actor(), &b.id, PHONE, "manager"),
        Err(StaffError::OtherBusiness)
    ));
    let (_, created) = staff::add(&w.env(), &admin_actor(), &a.id, PHONE, "owner").unwrap();
    assert!(!created);

    // Staff membership is read on every request: no new login needed.
    let p = w.resolve(&owner.tokens.access_token).unwrap();
    assert_eq!(p.business_id(), Some(a.id.as_str()));
    let need_a = Need::Staff {
        business_id: a.id.clone(),
        min_role: StaffRole::Owner,
    };
    let need_b = Need::Staff {
        business_id: b.id.clone(),
        min_role: StaffRole::Manager,
    };
    assert!(auth::authorize(&p, &need_a).is_ok());
    assert!(matches!(
        auth::authorize(&p, &need_b),
        Err(AuthError::Forbidden)
    ));

    staff::remove(&w.env(), &admin_actor(), &a.id, &owner.member.id).unwrap();
    let p = w.resolve(&owner.tokens.access_token).unwrap();
    assert!(auth::authorize(&p, &need_a).is_err());
    assert!(matches!(
        staff::remove(&w.env(), &admin_actor(), &a.id, &owner.member.id),
        Err(StaffError::StaffNotFound)
    ));
    let actions: Vec<String> = audit::list(&w.sql, &AuditFilter::default(), 100, None)
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(actions.contains(&"staff.added".to_string()));
    assert!(actions.contains(&"staff.removed".to_string()));
}

#[test]
fn api_keys_resolve_for_their_business_until_revoked() {
    let w = World::new();
    let a = new_business(&w, "A");
    let b = new_business(&w, "B");
    let key = api_keys::issue(&w.env(), &admin_actor(), &a.id, Some("till 1")).unwrap();
    assert!(key.api_key.starts_with("krug_pk_"));
    assert!(key.api_key.starts_with(&key.prefix));
    assert_eq!(
        w.count("SELECT COUNT(*) FROM api_keys WHERE key_hash LIKE 'krug_pk_%'"),
        0
    );
    let p = w.resolve(&key.api_key).unwrap();
    assert_eq!(p.business_id(), Some(a.id.as_str()));
    assert!(auth::authorize(
        &p,
        &Need::StaffOrApiKey {
            business_id: a.id.clone()
        }
    )
    .is_ok());
    assert!(auth::authorize(
        &p,
        &Need::StaffOrApiKey {
            business_id: b.id.clone()
        }
    )
    .is_err());
    assert!(auth::authorize(&p, &Need::Member).is_err());
    let listed = api_keys::list(&w.sql, &a.id).unwrap();
    assert_eq!(listed.len(), 1);
    assert!(!serde_json::to_string(&listed)
        .unwrap()
        .contains(&key.api_key));
    assert!(matches!(
        api_keys::revoke(&w.env(), &admin_actor(), &b.id, &key.id),
        Err(api_keys::ApiKeyError::KeyNotFound)
    ));
    api_keys::revoke(&w.env(), &admin_actor(), &a.id, &key.id).unwrap();
    assert!(matches!(
        w.resolve(&key.api_key),
        Err(AuthError::Unauthorized)
    ));
    for garbage in ["krug_pk_", "krug_pk_nope", "nope", "a.b.c"] {
        assert!(matches!(w.resolve(garbage), Err(AuthError::Unauthorized)));
    }
}

#[test]
fn tokens_signed_with_another_secret_are_refused() {
    let w = World::new();
    let login = w.login(PHONE);
    assert!(matches!(
        auth::resolve(&w.sql, &w.clock, "other-secret", &login.tokens.access_token),
        Err(AuthError::Unauthorized)
    ));
}

#[test]
fn the_purge_job_removes_stale_records() {
    let w = World::new();
    let login = w.login(PHONE);
    w.advance(32 * 86_400);
    let job = auth::jobs::jobs().into_iter().next().unwrap();
    let kv = krug_core::native::MemoryKv::default();
    let vars = krug_core::native::MapVariables::default();
    let report = (job.run)(&krug_core::jobs::JobEnv {
        sql: &w.sql,
        kv: &kv,
        clock: &w.clock,
        random: &w.random,
        variables: &vars,
    })
    .unwrap();
    assert!(report.affected >= 3, "{report:?}");
    assert_eq!(w.count("SELECT COUNT(*) FROM refresh_tokens"), 0);
    assert_eq!(w.count("SELECT COUNT(*) FROM otp_sends"), 0);
    assert!(login::refresh_tokens(&w.env(), &w.settings, &login.tokens.refresh_token).is_err());
}
