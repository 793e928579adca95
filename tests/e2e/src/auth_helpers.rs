//! Logging in through the real API, for every suite that needs members,
//! admins, businesses, staff or API keys.
//!
//! [`spawn_auth_app`] starts the app with a mock SMS gateway and
//! [`ADMIN_PHONE`] in `admin_phones`; [`AuthApp::login`] requests a code,
//! reads it from the recorded SMS and verifies it. Each phone logs in from
//! its own loopback address (127.1.x.y), so suites that register many
//! members never trip the per-IP code limit.

use std::{collections::HashMap, ops::Deref, time::Duration};

use serde_json::{json, Value};

use crate::{spawn_app_with, MockServer, TestApp};

/// The phone that gets the admin role in [`spawn_auth_app`].
pub const ADMIN_PHONE: &str = "+79990000001";

/// The bearer token the mock SMS gateway expects.
pub const SMS_TOKEN: &str = "sms-test-token";

/// An app with its mock SMS gateway.
pub struct AuthApp {
    /// The running app.
    pub app: TestApp,
    /// The SMS gateway stand-in; every code sent is recorded here.
    pub sms: MockServer,
}

impl Deref for AuthApp {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

/// Tokens and identity from a login.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// Access token (Bearer).
    pub access: String,
    /// Refresh token.
    pub refresh: String,
    /// Member id.
    pub member_id: String,
    /// Whether this login registered the member.
    pub is_new: bool,
}

/// Starts the app with a mock SMS gateway and [`ADMIN_PHONE`] as admin.
pub fn spawn_auth_app() -> AuthApp {
    spawn_auth_app_with(HashMap::new())
}

/// Like [`spawn_auth_app`], with more settings (they win over the defaults
/// set here).
pub fn spawn_auth_app_with(overrides: HashMap<String, String>) -> AuthApp {
    let sms = MockServer::start(200, r#"{"status":"queued"}"#);
    let mut vars = HashMap::from([
        ("sms_gateway_url".to_string(), sms.url()),
        ("sms_gateway_token".to_string(), SMS_TOKEN.to_string()),
        ("admin_phones".to_string(), ADMIN_PHONE.to_string()),
    ]);
    vars.extend(overrides);
    AuthApp {
        app: spawn_app_with(vars),
        sms,
    }
}

/// The six-digit code in an SMS text.
pub fn code_in(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .windows(6)
        .find(|w| w.iter().all(char::is_ascii_digit))
        .map(|w| w.iter().collect())
}

/// A loopback address for `phone` (127.1.x.y from its last digits).
pub fn ip_for(phone: &str) -> String {
    let digits: Vec<u32> = phone.chars().filter_map(|c| c.to_digit(10)).collect();
    let n = digits
        .iter()
        .rev()
        .take(4)
        .rev()
        .fold(0, |acc, d| acc * 10 + d);
    format!("127.1.{}.{}", n / 250, n % 250 + 1)
}

/// The code of the latest SMS `sms` recorded for `phone`, waiting up to
/// `wait`; panics when none arrives.
pub fn code_sent_to(sms: &MockServer, phone: &str, wait: Duration) -> String {
    let deadline = std::time::Instant::now() + wait;
    loop {
        let found = sms
            .requests()
            .iter()
            .rev()
            .find(|r| r.json()["to"] == phone)
            .and_then(|r| r.json()["text"].as_str().and_then(code_in));
        if let Some(code) = found {
            return code;
        }
        assert!(std::time::Instant::now() < deadline, "no SMS to {phone}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

impl AuthApp {
    /// The member's card number, from their wallet.
    pub fn card_number(&self, member: &Tokens) -> String {
        let resp = self
            .client
            .get("/api/v1/wallet")
            .bearer(&member.access)
            .send();
        assert_eq!(resp.status, 200, "wallet: {}", resp.text());
        resp.json()["card_number"]
            .as_str()
            .expect("card number")
            .to_string()
    }

    /// The code of the latest SMS sent to `phone`, waiting up to 5 s.
    pub fn last_code(&self, phone: &str) -> String {
        code_sent_to(&self.sms, phone, Duration::from_secs(5))
    }

    /// `POST /auth/otp` for `phone` from its own address; panics unless 202.
    pub fn request_code(&self, phone: &str) -> String {
        let before = self.sms.requests().len();
        let resp = self
            .client
            .post("/api/v1/auth/otp")
            .source_ip(&ip_for(phone))
            .json(&json!({ "phone": phone }))
            .send();
        assert_eq!(resp.status, 202, "otp for {phone}: {}", resp.text());
        self.sms.wait_for(before + 1, Duration::from_secs(5));
        self.last_code(phone)
    }

    /// Verifies `code` for `phone` with consent; returns the raw response.
    pub fn verify(&self, phone: &str, code: &str) -> crate::TestResponse {
        self.client
            .post("/api/v1/auth/verify")
            .json(&json!({
                "phone": phone,
                "code": code,
                "first_name": "Test",
                "consents": { "personal_data": true, "marketing": false }
            }))
            .send()
    }

    /// Logs `phone` in (registering it on first use). A second login of one
    /// phone within 60 s needs the clock moved on first
    /// (`app.host.advance_clock`).
    pub fn login(&self, phone: &str) -> Tokens {
        let code = self.request_code(phone);
        let resp = self.verify(phone, &code);
        assert_eq!(resp.status, 200, "verify {phone}: {}", resp.text());
        tokens_from(&resp.json())
    }

    /// Logs the admin in.
    pub fn admin(&self) -> Tokens {
        self.login(ADMIN_PHONE)
    }

    /// Creates a business as `admin`; returns its id.
    pub fn create_business(&self, admin: &Tokens, name: &str, category: &str) -> String {
        let resp = self
            .client
            .post("/api/v1/admin/businesses")
            .bearer(&admin.access)
            .json(&json!({ "name": name, "category": category }))
            .send();
        assert_eq!(resp.status, 201, "create business: {}", resp.text());
        resp.json()["id"].as_str().expect("business id").to_string()
    }

    /// Makes `phone` (logged in at least once) staff of `business_id` as
    /// `role`, acting as `actor` (an admin or the business's owner).
    pub fn add_staff(&self, actor: &Tokens, business_id: &str, phone: &str, role: &str) {
        let resp = self
            .client
            .post(&format!("/api/v1/admin/businesses/{business_id}/staff"))
            .bearer(&actor.access)
            .json(&json!({ "phone": phone, "role": role }))
            .send();
        assert!(
            resp.status == 201 || resp.status == 200,
            "add staff: {}",
            resp.text()
        );
    }

    /// Logs `phone` in and makes them staff of `business_id`; returns their
    /// tokens (staff membership is checked per request, so these work).
    pub fn staff_login(
        &self,
        admin: &Tokens,
        business_id: &str,
        phone: &str,
        role: &str,
    ) -> Tokens {
        let t = self.login(phone);
        self.add_staff(admin, business_id, phone, role);
        t
    }

    /// Issues an API key for `business_id` as `actor`; returns (id, key).
    pub fn issue_api_key(&self, actor: &Tokens, business_id: &str) -> (String, String) {
        let resp = self
            .client
            .post(&format!("/api/v1/admin/businesses/{business_id}/api-keys"))
            .bearer(&actor.access)
            .json(&json!({ "name": "test key" }))
            .send();
        assert_eq!(resp.status, 201, "issue key: {}", resp.text());
        let body = resp.json();
        (
            body["id"].as_str().expect("key id").to_string(),
            body["api_key"].as_str().expect("api key").to_string(),
        )
    }
}

/// Tokens from a verify response body.
pub fn tokens_from(body: &Value) -> Tokens {
    Tokens {
        access: body["access_token"].as_str().expect("access_token").into(),
        refresh: body["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .into(),
        member_id: body["member"]["id"].as_str().expect("member.id").into(),
        is_new: body["member"]["is_new"].as_bool().expect("member.is_new"),
    }
}

/// Two businesses with one staff member each, an API key for the first, an
/// admin and one logged-in member: the cast of the wallet and checkout
/// suites.
pub struct Club {
    /// The running app.
    pub app: AuthApp,
    /// The admin's tokens.
    pub admin: Tokens,
    /// Business A's id.
    pub a: String,
    /// Business B's id.
    pub b: String,
    /// Staff of A.
    pub staff_a: Tokens,
    /// Staff of B.
    pub staff_b: Tokens,
    /// A partner API key of A.
    pub key_a: String,
    /// The member.
    pub member: Tokens,
}

/// Who [`Club::open`] creates: `(name, category)` of A and B, the staff
/// role, and the phones of A's staff, B's staff and the member.
pub struct Cast<'a> {
    /// Name and category of business A.
    pub a: (&'a str, &'a str),
    /// Name and category of business B.
    pub b: (&'a str, &'a str),
    /// `manager` or `owner`.
    pub role: &'a str,
    /// Phones: A's staff, B's staff, the member.
    pub phones: [&'a str; 3],
}

impl Club {
    /// Creates the cast in `app` through the API.
    pub fn open(app: AuthApp, cast: &Cast<'_>) -> Club {
        let admin = app.admin();
        let a = app.create_business(&admin, cast.a.0, cast.a.1);
        let b = app.create_business(&admin, cast.b.0, cast.b.1);
        let staff_a = app.staff_login(&admin, &a, cast.phones[0], cast.role);
        let staff_b = app.staff_login(&admin, &b, cast.phones[1], cast.role);
        let (_, key_a) = app.issue_api_key(&admin, &a);
        let member = app.login(cast.phones[2]);
        Club {
            app,
            admin,
            a,
            b,
            staff_a,
            staff_b,
            key_a,
            member,
        }
    }
}
