//! A mock of the partners' CRMs for end-to-end tests.
//!
//! [`CrmMock::start`] listens on a random 127.0.0.1 port and speaks every
//! provider the integration connectors know — 1C's REST extension,
//! YCLIENTS, amoCRM, Renovatio and a published CSV file — in each one's own
//! request and response shapes: its authentication, its window parameters,
//! its paging and its error bodies. A test puts sales in with
//! [`CrmMock::set_sales`], points an integration at the mock with
//! [`CrmMock::settings`], and can make the next requests fail with
//! [`CrmMock::fail_next`]. Every request is recorded ([`CrmMock::requests`]).
//! The server stops when the mock is dropped.
//!
//! Local times are Moscow time (UTC+3 all year), the zone the connectors
//! read provider times in for the test businesses. Times are rendered to
//! whole seconds.

use std::{
    collections::{HashMap, VecDeque},
    io::{Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex, MutexGuard,
    },
    thread::JoinHandle,
    time::Duration,
};

use base64::{engine::general_purpose::STANDARD, Engine as _};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Timelike, Utc};
use serde_json::{json, Value};

/// A partner system the mock imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// 1C through the partner's REST extension (`GET /api/transactions`).
    OneC,
    /// YCLIENTS records of one company.
    Yclients,
    /// amoCRM won leads and their contacts.
    AmoCrm,
    /// Renovatio payments (a medical information system).
    Renovatio,
    /// A CSV file published at `/sales.csv`.
    Csv,
}

impl Provider {
    /// Every provider.
    pub const ALL: [Provider; 5] = [
        Provider::OneC,
        Provider::Yclients,
        Provider::AmoCrm,
        Provider::Renovatio,
        Provider::Csv,
    ];

    /// The integration `type` this provider is configured as.
    pub fn kind(self) -> &'static str {
        match self {
            Provider::OneC => "onec",
            Provider::Yclients => "yclients",
            Provider::AmoCrm => "amocrm",
            Provider::Renovatio => "renovatio",
            Provider::Csv => "csv_url",
        }
    }
}

/// One sale as the partner's system knows it; each provider renders it in
/// its own format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrmSale {
    /// The provider's id of the sale (document, record, lead, payment).
    /// amoCRM and YCLIENTS ids are numbers: digits are rendered as a JSON
    /// number there, anything else as a string.
    pub id: String,
    /// The buyer's phone, rendered as given.
    pub phone: String,
    /// Amount paid, whole rubles.
    pub rubles: i64,
    /// When the sale happened (visit time, lead close time, payment time).
    pub at: DateTime<Utc>,
    /// What was sold: an item name (1C), a service title (YCLIENTS,
    /// Renovatio), the lead name (amoCRM), the description (CSV).
    pub service: String,
}

/// A failure the mock answers with instead of its normal service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// This HTTP status with a JSON body `{"message": "mock failure <n>"}`.
    Status(u16),
    /// HTTP 429 with `retry-after: <retry_after>`.
    RateLimited {
        /// Seconds sent in the `retry-after` header.
        retry_after: u64,
    },
    /// HTTP 200 labelled JSON whose body is truncated: `{"Transactions": `.
    Malformed,
    /// Waits this long, then answers normally.
    Slow(Duration),
}

/// One request the mock received: method, path with query, headers (names
/// lower-case) and body.
pub type CrmRequest = (String, String, Vec<(String, String)>, Vec<u8>);

/// The fixed `id` of the amoCRM lead in status 143 ("lost") that every
/// non-empty leads listing carries; the connector must drop it.
pub const AMOCRM_LOST_LEAD_ID: i64 = 999_001;

/// Leads per amoCRM page, whatever `limit` asks for, so that three sales
/// already need two pages.
pub const AMOCRM_PAGE_SIZE: usize = 2;

/// The amoCRM pipeline the settings name and the leads are in.
pub const AMOCRM_PIPELINE_ID: i64 = 7_001_234;

/// The `id` of the YCLIENTS record that is not a paid visit (no-show) which
/// every non-empty records listing carries; the connector must skip it.
pub const YCLIENTS_NOSHOW_ID: &str = "noshow-1";

/// The YCLIENTS company the settings name.
pub const YCLIENTS_COMPANY_ID: &str = "412345";

/// The doctor named on every Renovatio payment (must never be stored).
pub const RENOVATIO_DOCTOR: &str = "Иванов Иван Иванович";

/// The diagnosis (ICD-10 code) on every Renovatio payment (must never be
/// stored).
pub const RENOVATIO_DIAGNOSIS: &str = "J06.9";

/// Patient names the Renovatio payments carry, by patient in turn (must
/// never be stored).
pub const RENOVATIO_PATIENT_NAMES: [&str; 3] = [
    "Морозова Елена Викторовна",
    "Кузнецов Андрей Петрович",
    "Соколова Татьяна Андреевна",
];

/// The Renovatio clinic the settings name.
pub const RENOVATIO_CLINIC_ID: &str = "3";

/// The CSV file's header row.
pub const CSV_HEADER: &str = "external_id;date;customer_phone;amount;category;description";

// Bounds on what one request may be.
const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 4 * 1024 * 1024;
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The mock CRM server. Stops when dropped.
pub struct CrmMock {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

// Credentials the settings carry and the handlers check.
struct Creds {
    onec_user: String,
    onec_password: String,
    yclients_partner: String,
    yclients_user: String,
    amocrm_token: String,
    renovatio_key: String,
    csv_authorization: String,
}

impl Creds {
    fn for_port(port: u16) -> Self {
        Self {
            onec_user: "kassa".into(),
            onec_password: format!("1c-pass-{port}"),
            yclients_partner: format!("yc-partner-{port}"),
            yclients_user: format!("yc-user-{port}"),
            amocrm_token: format!("amo-token-{port}"),
            renovatio_key: format!("reno-key-{port}"),
            csv_authorization: format!("Bearer csv-token-{port}"),
        }
    }
}

#[derive(Default)]
struct State {
    sales: HashMap<Provider, Vec<CrmSale>>,
    faults: VecDeque<Fault>,
    requests: Vec<CrmRequest>,
}

struct Shared {
    origin: String,
    creds: Creds,
    state: Mutex<State>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    // The provider's sales, oldest first (ties by id).
    fn sales(&self, provider: Provider) -> Vec<CrmSale> {
        let mut sales = self
            .state()
            .sales
            .get(&provider)
            .cloned()
            .unwrap_or_default();
        sales.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
        sales
    }
}

impl CrmMock {
    /// Starts the server on a random 127.0.0.1 port with no sales.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind CRM mock");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let addr = listener.local_addr().expect("CRM mock address");
        let shared = Arc::new(Shared {
            origin: format!("http://{addr}"),
            creds: Creds::for_port(addr.port()),
            state: Mutex::new(State::default()),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let shared = shared.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let shared = shared.clone();
                            std::thread::spawn(move || {
                                let _ = serve(stream, &shared);
                            });
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        Self {
            addr,
            shared,
            stop,
            thread: Some(thread),
        }
    }

    /// The mock's origin, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.shared.origin.clone()
    }

    /// The socket address the mock listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the sales `provider` serves.
    pub fn set_sales(&self, provider: Provider, sales: Vec<CrmSale>) {
        self.shared.state().sales.insert(provider, sales);
    }

    /// Queues `faults`: the next requests, to any provider or path, are
    /// answered with them in order (after any still queued); then normal
    /// service resumes.
    pub fn fail_next(&self, faults: Vec<Fault>) {
        self.shared.state().faults.extend(faults);
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<CrmRequest> {
        self.shared.state().requests.clone()
    }

    /// The integration `settings` object that points `provider`'s connector
    /// at this mock, with the credentials the mock accepts.
    pub fn settings(&self, provider: Provider) -> Value {
        let c = &self.shared.creds;
        let base = self.url();
        match provider {
            Provider::OneC => json!({
                "base_url": base,
                "username": c.onec_user,
                "password": c.onec_password,
            }),
            Provider::Yclients => json!({
                "base_url": base,
                "company_id": YCLIENTS_COMPANY_ID,
                "partner_token": c.yclients_partner,
                "user_token": c.yclients_user,
            }),
            Provider::AmoCrm => json!({
                "base_url": base,
                "access_token": c.amocrm_token,
                "pipeline_id": AMOCRM_PIPELINE_ID,
            }),
            Provider::Renovatio => json!({
                "base_url": base,
                "api_key": c.renovatio_key,
                "clinic_id": RENOVATIO_CLINIC_ID,
            }),
            Provider::Csv => json!({
                "url": format!("{base}/sales.csv"),
                "authorization": c.csv_authorization,
            }),
        }
    }
}

impl Drop for CrmMock {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------
// HTTP plumbing

struct Incoming {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Incoming {
    fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    fn raw_query(&self) -> &str {
        self.target.split_once('?').map_or("", |(_, q)| q)
    }

    fn query(&self) -> Vec<(String, String)> {
        pairs(self.raw_query())
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            headers: vec![(
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body: body.to_string().into_bytes(),
        }
    }

    fn no_content() -> Self {
        Self {
            status: 204,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

// One connection: one request, one answer, then close.
fn serve(mut stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let req = read_request(&mut stream)?;
    let fault = {
        let mut state = shared.state();
        state.requests.push((
            req.method.clone(),
            req.target.clone(),
            req.headers.clone(),
            req.body.clone(),
        ));
        state.faults.pop_front()
    };
    let reply = match fault {
        Some(Fault::Status(n)) => {
            Reply::json(n, &json!({ "message": format!("mock failure {n}") }))
        }
        Some(Fault::RateLimited { retry_after }) => {
            Reply::json(429, &json!({ "message": "too many requests, slow down" }))
                .with_header("retry-after", &retry_after.to_string())
        }
        Some(Fault::Malformed) => Reply {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: b"{\"Transactions\": ".to_vec(),
        },
        Some(Fault::Slow(d)) => {
            std::thread::sleep(d);
            route(&req, shared)
        }
        None => route(&req, shared),
    };
    write_reply(&mut stream, &reply)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn invalid(msg: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg.to_string())
}

// Reads one request. Every loop either grows the buffer (up to a bound) or
// ends with an error; reads time out.
fn read_request(stream: &mut TcpStream) -> std::io::Result<Incoming> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err(invalid("request head too large"));
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut start = lines.next().unwrap_or_default().split_whitespace();
    let method = start.next().unwrap_or_default().to_string();
    let mut target = start.next().unwrap_or_default().to_string();
    // An absolute-form target (through a proxy) is reduced to its path.
    if let Some(rest) = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
    {
        target = match rest.find('/') {
            Some(i) => rest[i..].to_string(),
            None => "/".into(),
        };
    }
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let mut rest = buf[head_end + 4..].to_vec();
    let chunked =
        header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        loop {
            if let Some(body) = dechunk(&rest) {
                break body;
            }
            if rest.len() > MAX_BODY {
                return Err(invalid("request body too large"));
            }
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            rest.extend_from_slice(&chunk[..n]);
        }
    } else {
        let len: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if len > MAX_BODY {
            return Err(invalid("request body too large"));
        }
        while rest.len() < len {
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            rest.extend_from_slice(&chunk[..n]);
        }
        rest.truncate(len);
        rest
    };
    Ok(Incoming {
        method,
        target,
        headers,
        body,
    })
}

// A complete chunked body, or `None` while more bytes are needed.
fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = find(data, b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            // Trailers, if any, end with an empty line.
            return (data.starts_with(b"\r\n") || find(data, b"\r\n\r\n").is_some()).then_some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn write_reply(stream: &mut TcpStream, reply: &Reply) -> std::io::Result<()> {
    let bodiless = reply.status < 200 || reply.status == 204 || reply.status == 304;
    let mut head = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !bodiless {
        head.push_str(&format!("content-length: {}\r\n", reply.body.len()));
    }
    head.push_str("connection: close\r\n\r\n");
    stream.write_all(head.as_bytes())?;
    if !bodiless {
        stream.write_all(&reply.body)?;
    }
    stream.flush()
}

// `k=v&...` decoded (`+` is a space, `%XX` a byte).
fn pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push(hi * 16 + lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------
// Rendering helpers

fn msk() -> FixedOffset {
    FixedOffset::east_opt(3 * 3600).expect("UTC+3 is a valid offset")
}

fn local(at: DateTime<Utc>) -> NaiveDateTime {
    at.with_timezone(&msk()).naive_local()
}

// `dd.mm.yyyy HH:MM`, with `:SS` only when the seconds are not zero.
fn dmy_time(at: DateTime<Utc>) -> String {
    let t = local(at);
    if t.second() == 0 {
        t.format("%d.%m.%Y %H:%M").to_string()
    } else {
        t.format("%d.%m.%Y %H:%M:%S").to_string()
    }
}

// Digits as a JSON number (as numeric-id systems send them), else a string.
fn numeric_id(id: &str) -> Value {
    match id.parse::<u64>() {
        Ok(n) if n.to_string() == id => json!(n),
        _ => json!(id),
    }
}

// Distinct phones of `sales` in order, each with `base + position`.
fn people(sales: &[CrmSale], base: i64) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = Vec::new();
    for s in sales {
        if !out.iter().any(|(p, _)| *p == s.phone) {
            let id = base + out.len() as i64;
            out.push((s.phone.clone(), id));
        }
    }
    out
}

fn person_id(people: &[(String, i64)], phone: &str) -> i64 {
    people
        .iter()
        .find(|(p, _)| p == phone)
        .map_or(0, |(_, id)| *id)
}

// ---------------------------------------------------------------------------
// Routing

fn route(req: &Incoming, shared: &Shared) -> Reply {
    let path = req.path();
    match req.method.as_str() {
        "GET" if path == "/api/transactions" => onec(req, shared),
        "GET" if path.starts_with("/api/v1/records/") => {
            yclients(req, shared, &path["/api/v1/records/".len()..])
        }
        "GET" if path == "/api/v4/leads" => amocrm_leads(req, shared),
        "GET" if path == "/api/v4/contacts" => amocrm_contacts(req, shared),
        "POST" if path.starts_with("/api/public/") => {
            renovatio(req, shared, &path["/api/public/".len()..])
        }
        "GET" if path == "/sales.csv" => csv(req, shared),
        _ => Reply::json(
            404,
            &json!({ "message": format!("no such endpoint: {} {}", req.method, path) }),
        ),
    }
}

// 1C: `GET /api/transactions?dateFrom&dateTo` (local, inclusive), basic auth.
fn onec(req: &Incoming, shared: &Shared) -> Reply {
    let c = &shared.creds;
    let expected = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", c.onec_user, c.onec_password))
    );
    if req.header("authorization") != Some(expected.as_str()) {
        return Reply::json(401, &json!({ "error": "Не пройдена аутентификация" }))
            .with_header("www-authenticate", "Basic realm=\"1C:Enterprise\"");
    }
    let q = req.query();
    let bound = |k: &str| {
        first(&q, k).and_then(|v| NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S").ok())
    };
    let (Some(from), Some(to)) = (bound("dateFrom"), bound("dateTo")) else {
        return Reply::json(
            400,
            &json!({ "error": "dateFrom and dateTo are required as YYYY-MM-DDTHH:MM:SS" }),
        );
    };
    let list: Vec<Value> = shared
        .sales(Provider::OneC)
        .iter()
        .enumerate()
        .filter(|(_, s)| (from..=to).contains(&local(s.at)))
        .map(|(i, s)| {
            json!({
                "ID": s.id,
                "Number": format!("{:06}", i + 1),
                "Total": s.rubles,
                "Date": local(s.at).format("%Y-%m-%dT%H:%M:%S").to_string(),
                "CustomerPhone": s.phone,
                "Shop": "Магазин на Тверской",
                "Cashier": "Иванова А. С.",
                "Items": [{
                    "SKU": format!("SVC-{:03}", i + 1),
                    "Name": s.service,
                    "Quantity": 1,
                    "Price": s.rubles,
                }],
            })
        })
        .collect();
    Reply::json(200, &json!({ "Transactions": list }))
}

/// The `Accept` value YCLIENTS requires for version 2 of its format.
const YCLIENTS_ACCEPT: &str = "application/vnd.yclients.v2+json";

fn yclients_error(status: u16, message: &str) -> Reply {
    Reply::json(
        status,
        &json!({ "success": false, "data": null, "meta": { "message": message } }),
    )
}

fn yclients_record(i: usize, s: &CrmSale, who: &[(String, i64)]) -> Value {
    let t = local(s.at);
    json!({
        "id": numeric_id(&s.id),
        "company_id": YCLIENTS_COMPANY_ID.parse::<i64>().unwrap_or(0),
        "staff_id": 1201,
        "services": [{
            "id": 8800 + i as i64,
            "title": s.service,
            "cost": s.rubles,
            "manual_cost": s.rubles,
            "cost_per_unit": s.rubles,
            "discount": 0,
            "first_cost": s.rubles,
            "amount": 1,
        }],
        "goods_transactions": [],
        "staff": { "id": 1201, "name": "Ольга", "specialization": "мастер" },
        "client": {
            "id": person_id(who, &s.phone),
            "name": "Клиент",
            "phone": s.phone,
        },
        "date": t.format("%Y-%m-%d %H:%M:%S").to_string(),
        "datetime": s.at.with_timezone(&msk()).format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        "comment": "",
        "online": true,
        "visit_attendance": 1,
        "attendance": 1,
        "confirmed": 1,
        "seance_length": 3600,
        "length": 3600,
        "deleted": false,
        "paid_full": 1,
        "prepaid": false,
    })
}

// YCLIENTS: `GET /api/v1/records/{company}?start_date&end_date&page&count`.
fn yclients(req: &Incoming, shared: &Shared, company: &str) -> Reply {
    if !req
        .header("accept")
        .is_some_and(|a| a.contains(YCLIENTS_ACCEPT))
    {
        return yclients_error(415, &format!("the Accept header must be {YCLIENTS_ACCEPT}"));
    }
    let c = &shared.creds;
    let expected = format!("Bearer {}, User {}", c.yclients_partner, c.yclients_user);
    if req.header("authorization") != Some(expected.as_str()) {
        return yclients_error(401, "Необходима авторизация");
    }
    if company != YCLIENTS_COMPANY_ID {
        return yclients_error(403, "Нет доступа к компании");
    }
    let q = req.query();
    let day = |k: &str| first(&q, k).and_then(|v| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok());
    let (Some(start), Some(end)) = (day("start_date"), day("end_date")) else {
        return yclients_error(422, "start_date and end_date are required as YYYY-MM-DD");
    };
    let number = |k: &str, default: usize| {
        first(&q, k)
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(default)
    };
    let page = number("page", 1).max(1);
    let count = number("count", 50).clamp(1, 1000);
    let sales = shared.sales(Provider::Yclients);
    let who = people(&sales, 3_344_556);
    let mut records = Vec::new();
    for (i, s) in sales.iter().enumerate() {
        if !(start..=end).contains(&local(s.at).date()) {
            continue;
        }
        records.push(yclients_record(i, s, &who));
        if records.len() == 1 {
            // A booked visit the client did not come to, same phone.
            let mut noshow = yclients_record(i, s, &who);
            noshow["id"] = json!(YCLIENTS_NOSHOW_ID);
            noshow["attendance"] = json!(-1);
            noshow["visit_attendance"] = json!(-1);
            noshow["paid_full"] = json!(0);
            records.push(noshow);
        }
    }
    let total = records.len();
    let data: Vec<Value> = records
        .into_iter()
        .skip((page - 1).saturating_mul(count))
        .take(count)
        .collect();
    Reply::json(
        200,
        &json!({
            "success": true,
            "data": data,
            "meta": { "page": page, "total_count": total },
        }),
    )
}

fn amocrm_unauthorized(req: &Incoming, shared: &Shared) -> Option<Reply> {
    let expected = format!("Bearer {}", shared.creds.amocrm_token);
    (req.header("authorization") != Some(expected.as_str())).then(|| {
        Reply::json(
            401,
            &json!({ "title": "Unauthorized", "status": 401, "detail": "Invalid access token" }),
        )
        .with_header("content-type", "application/problem+json")
    })
}

fn amocrm_lead(
    shared: &Shared,
    id: Value,
    name: &str,
    price: i64,
    status_id: i64,
    closed_at: i64,
    contact: i64,
) -> Value {
    let origin = &shared.origin;
    json!({
        "id": id,
        "name": name,
        "price": price,
        "responsible_user_id": 8_800_123,
        "group_id": 0,
        "status_id": status_id,
        "pipeline_id": AMOCRM_PIPELINE_ID,
        "loss_reason_id": if status_id == 143 { json!(5501) } else { Value::Null },
        "created_by": 8_800_123,
        "updated_by": 8_800_123,
        "created_at": closed_at - 86_400,
        "updated_at": closed_at,
        "closed_at": closed_at,
        "closest_task_at": null,
        "is_deleted": false,
        "custom_fields_values": null,
        "score": null,
        "account_id": 31_002_211,
        "labor_cost": null,
        "_links": { "self": { "href": format!("{origin}/api/v4/leads/{id}") } },
        "_embedded": {
            "tags": [],
            "companies": [],
            "contacts": [{
                "id": contact,
                "is_main": true,
                "_links": { "self": { "href": format!("{origin}/api/v4/contacts/{contact}") } },
            }],
        },
    })
}

// The request's query with `page` set to `page` (other parameters kept as
// sent).
fn with_page(raw_query: &str, page: usize) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut replaced = false;
    for part in raw_query.split('&').filter(|p| !p.is_empty()) {
        let key = decode(part.split('=').next().unwrap_or_default());
        if key == "page" {
            parts.push(format!("page={page}"));
            replaced = true;
        } else {
            parts.push(part.to_string());
        }
    }
    if !replaced {
        parts.push(format!("page={page}"));
    }
    parts.join("&")
}

// amoCRM: `GET /api/v4/leads?filter[closed_at][from|to]&page&limit`.
fn amocrm_leads(req: &Incoming, shared: &Shared) -> Reply {
    if let Some(refused) = amocrm_unauthorized(req, shared) {
        return refused;
    }
    let q = req.query();
    let int = |k: &str| first(&q, k).and_then(|v| v.trim().parse::<i64>().ok());
    let from = int("filter[closed_at][from]").unwrap_or(i64::MIN);
    let to = int("filter[closed_at][to]").unwrap_or(i64::MAX);
    let page = int("page").unwrap_or(1).max(1) as usize;
    let limit = int("limit").unwrap_or(50).clamp(1, 250) as usize;
    let size = limit.min(AMOCRM_PAGE_SIZE);
    let sales = shared.sales(Provider::AmoCrm);
    let contacts = people(&sales, 3_300_001);
    let won: Vec<&CrmSale> = sales
        .iter()
        .filter(|s| (from..=to).contains(&s.at.timestamp()))
        .collect();
    let Some(first_won) = won.first() else {
        return Reply::no_content();
    };
    let mut leads: Vec<Value> = won
        .iter()
        .map(|s| {
            amocrm_lead(
                shared,
                numeric_id(&s.id),
                &s.service,
                s.rubles,
                142,
                s.at.timestamp(),
                person_id(&contacts, &s.phone),
            )
        })
        .collect();
    // A lead of the same buyer that was lost: not a sale.
    leads.insert(
        1,
        amocrm_lead(
            shared,
            json!(AMOCRM_LOST_LEAD_ID),
            "Отказ: дорого",
            first_won.rubles,
            143,
            first_won.at.timestamp(),
            person_id(&contacts, &first_won.phone),
        ),
    );
    let pages = leads.len().div_ceil(size);
    if page > pages {
        return Reply::no_content();
    }
    let chunk: Vec<Value> = leads
        .into_iter()
        .skip((page - 1) * size)
        .take(size)
        .collect();
    let origin = &shared.origin;
    let mut links = json!({
        "self": { "href": format!("{origin}/api/v4/leads?{}", with_page(req.raw_query(), page)) },
    });
    if page < pages {
        links["next"] = json!({ "href": format!("{origin}/api/v4/leads?{}", with_page(req.raw_query(), page + 1)) });
    }
    if page > 1 {
        links["prev"] = json!({ "href": format!("{origin}/api/v4/leads?{}", with_page(req.raw_query(), page - 1)) });
    }
    Reply::json(
        200,
        &json!({ "_page": page, "_links": links, "_embedded": { "leads": chunk } }),
    )
    .with_header("content-type", "application/hal+json")
}

// amoCRM: `GET /api/v4/contacts?filter[id][]=…`.
fn amocrm_contacts(req: &Incoming, shared: &Shared) -> Reply {
    if let Some(refused) = amocrm_unauthorized(req, shared) {
        return refused;
    }
    let ids: Vec<i64> = req
        .query()
        .iter()
        .filter(|(k, _)| k.starts_with("filter[id]"))
        .filter_map(|(_, v)| v.trim().parse().ok())
        .collect();
    let origin = &shared.origin;
    let found: Vec<Value> = people(&shared.sales(Provider::AmoCrm), 3_300_001)
        .into_iter()
        .enumerate()
        .filter(|(_, (_, id))| ids.contains(id))
        .map(|(n, (phone, id))| {
            json!({
                "id": id,
                "name": format!("Покупатель {}", n + 1),
                "responsible_user_id": 8_800_123,
                "is_deleted": false,
                "custom_fields_values": [
                    {
                        "field_id": 502_711, "field_name": "Должность", "field_code": "POSITION",
                        "field_type": "text", "values": [{ "value": "Частное лицо" }],
                    },
                    {
                        "field_id": 502_713, "field_name": "Телефон", "field_code": "PHONE",
                        "field_type": "multitext",
                        "values": [{ "value": phone, "enum_id": 311_001, "enum_code": "MOB" }],
                    },
                ],
                "account_id": 31_002_211,
                "_links": { "self": { "href": format!("{origin}/api/v4/contacts/{id}") } },
            })
        })
        .collect();
    if found.is_empty() {
        return Reply::no_content();
    }
    Reply::json(
        200,
        &json!({
            "_page": 1,
            "_links": { "self": { "href": format!("{origin}{}", req.target) } },
            "_embedded": { "contacts": found },
        }),
    )
    .with_header("content-type", "application/hal+json")
}

fn renovatio_error(code: u16, desc: &str) -> Reply {
    Reply::json(
        200,
        &json!({ "error": 1, "data": { "code": code, "desc": desc } }),
    )
}

// Renovatio: `POST /api/public/<method>` with a form body carrying api_key.
fn renovatio(req: &Incoming, shared: &Shared, method: &str) -> Reply {
    let form = pairs(&String::from_utf8_lossy(&req.body));
    if first(&form, "api_key") != Some(shared.creds.renovatio_key.as_str()) {
        return renovatio_error(401, "Invalid api_key");
    }
    let sales = shared.sales(Provider::Renovatio);
    let patients = people(&sales, 55_101);
    match method {
        "getPayments" => {
            let day = |k: &str| {
                first(&form, k).and_then(|v| NaiveDate::parse_from_str(v, "%d.%m.%Y").ok())
            };
            let (Some(from), Some(to)) = (day("date_from"), day("date_to")) else {
                return renovatio_error(400, "date_from and date_to are required as dd.mm.yyyy");
            };
            if first(&form, "clinic_id").is_some_and(|c| c != RENOVATIO_CLINIC_ID) {
                return Reply::json(200, &json!({ "error": 0, "data": [] }));
            }
            let data: Vec<Value> = sales
                .iter()
                .enumerate()
                .filter(|(_, s)| (from..=to).contains(&local(s.at).date()))
                .map(|(i, s)| {
                    let pid = person_id(&patients, &s.phone);
                    let n = patients
                        .iter()
                        .position(|(p, _)| *p == s.phone)
                        .unwrap_or(0);
                    let price = format!("{}.00", s.rubles);
                    json!({
                        "id": s.id,
                        "date": dmy_time(s.at),
                        "value": price,
                        "clinic_id": RENOVATIO_CLINIC_ID,
                        "patient_id": pid.to_string(),
                        "patient_name": RENOVATIO_PATIENT_NAMES[n % RENOVATIO_PATIENT_NAMES.len()],
                        "patient_phone": s.phone,
                        "payment_type": "Банковская карта",
                        "invoice_id": (420_001 + i).to_string(),
                        "doctor": RENOVATIO_DOCTOR,
                        "services": [{ "title": s.service, "price": price, "count": "1" }],
                        "diagnosis": RENOVATIO_DIAGNOSIS,
                    })
                })
                .collect();
            Reply::json(200, &json!({ "error": 0, "data": data }))
        }
        "getPatient" => {
            let wanted = first(&form, "patient_id").and_then(|p| p.trim().parse::<i64>().ok());
            match patients
                .iter()
                .enumerate()
                .find(|(_, (_, id))| Some(*id) == wanted)
            {
                Some((n, (phone, id))) => {
                    let name = RENOVATIO_PATIENT_NAMES[n % RENOVATIO_PATIENT_NAMES.len()];
                    let mut words = name.split(' ');
                    Reply::json(
                        200,
                        &json!({
                            "error": 0,
                            "data": {
                                "id": id,
                                "last_name": words.next().unwrap_or_default(),
                                "first_name": words.next().unwrap_or_default(),
                                "third_name": words.next().unwrap_or_default(),
                                "gender": 2,
                                "mobile": phone,
                            },
                        }),
                    )
                }
                None => renovatio_error(404, "Пациент не найден"),
            }
        }
        _ => renovatio_error(404, "Method not found"),
    }
}

// A CSV cell, quoted when it holds the separator, a quote or a line break.
fn cell(s: &str) -> String {
    if s.contains([';', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

// CSV: `GET /sales.csv`, every sale (the connector keeps the window's).
fn csv(req: &Incoming, shared: &Shared) -> Reply {
    if req.header("authorization") != Some(shared.creds.csv_authorization.as_str()) {
        return Reply::json(401, &json!({ "message": "authorization required" }));
    }
    let mut body = format!("\u{feff}{CSV_HEADER}\r\n");
    for s in shared.sales(Provider::Csv) {
        body.push_str(&format!(
            "{};{};{};{},00;;{}\r\n",
            cell(&s.id),
            dmy_time(s.at),
            cell(&s.phone),
            s.rubles,
            cell(&s.service)
        ));
    }
    Reply {
        status: 200,
        headers: vec![
            ("content-type".into(), "text/csv; charset=utf-8".into()),
            (
                "content-disposition".into(),
                "attachment; filename=\"sales.csv\"".into(),
            ),
        ],
        body: body.into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use krug_core::ingest::connectors::{FetchCtx, Kind, SyncError, Window};
    use krug_core::ingest::{normalize, Customer, Parsed};
    use krug_core::ports::{Http, HttpError, OutboundRequest, OutboundResponse, Pause};
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::{Client, TestResponse};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("test time")
            .with_timezone(&Utc)
    }

    fn sale(id: &str, phone: &str, rubles: i64, when: &str, service: &str) -> CrmSale {
        CrmSale {
            id: id.into(),
            phone: phone.into(),
            rubles,
            at: at(when),
            service: service.into(),
        }
    }

    // Four sales around Moscow's 30.11.2026: the first is 29.11 23:30 and
    // the last 01.12 00:30 local, so only the middle two are in that day.
    fn four(ids: [&str; 4]) -> Vec<CrmSale> {
        vec![
            sale(
                ids[0],
                "+79161234567",
                1000,
                "2026-11-29T20:30:00Z",
                "Стрижка",
            ),
            sale(
                ids[1],
                "+79035550101",
                2500,
                "2026-11-30T08:15:00Z",
                "Окрашивание",
            ),
            sale(
                ids[2],
                "+79161234567",
                3450,
                "2026-11-30T20:30:45Z",
                "Укладка; уход",
            ),
            sale(
                ids[3],
                "+79265554433",
                900,
                "2026-11-30T21:30:00Z",
                "Маникюр",
            ),
        ]
    }

    fn day() -> Window {
        Window {
            from: at("2026-11-29T21:00:00Z"),
            to: at("2026-11-30T20:59:59Z"),
        }
    }

    // Outbound HTTP for the real connectors, over the test client.
    struct Loopback;

    impl Http for Loopback {
        fn send(&self, req: OutboundRequest) -> Result<OutboundResponse, HttpError> {
            let rest = req
                .url
                .strip_prefix("http://")
                .ok_or_else(|| HttpError::NotAllowed(req.url.clone()))?;
            let (authority, target) = match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, "/"),
            };
            let addr: SocketAddr = authority
                .parse()
                .map_err(|_| HttpError::NotAllowed(req.url.clone()))?;
            let mut builder = Client::new(addr).request(&req.method, target);
            for (k, v) in &req.headers {
                builder = builder.header(k, v);
            }
            let resp = builder
                .body(req.body)
                .try_send()
                .map_err(|e| HttpError::Failed(e.to_string()))?;
            Ok(OutboundResponse {
                status: resp.status,
                headers: resp.headers,
                body: resp.body,
            })
        }
    }

    struct NoPause;

    impl Pause for NoPause {
        fn pause(&self, _: Duration) {}
    }

    // Runs `provider`'s real connector against the mock for `window`.
    fn fetch(mock: &CrmMock, provider: Provider, window: Window) -> Result<Vec<Parsed>, SyncError> {
        let connector = Kind::parse(provider.kind(), "type")
            .expect("known kind")
            .configure(&mock.settings(provider))
            .expect("mock settings are valid");
        let ctx = FetchCtx {
            http: &Loopback,
            pause: &NoPause,
            window,
            tz: normalize::zone("Europe/Moscow"),
            max_requests: 20,
        };
        connector.fetch(&ctx)
    }

    // (external id, kopecks, phone or hash, description) of each good row.
    fn rows(parsed: &[Parsed]) -> Vec<(String, i64, String, Option<String>)> {
        parsed
            .iter()
            .map(|p| {
                let t = p
                    .result
                    .as_ref()
                    .unwrap_or_else(|e| panic!("row {} refused: {e}", p.row));
                let who = match &t.customer {
                    Customer::Phone(p) => p.as_str().to_string(),
                    Customer::PhoneSha256(h) => h.clone(),
                    Customer::Card(c) => c.clone(),
                };
                (t.external_id.clone(), t.amount, who, t.description.clone())
            })
            .collect()
    }

    fn get(mock: &CrmMock, target: &str, headers: &[(&str, &str)]) -> TestResponse {
        let mut b = Client::new(mock.addr()).get(target);
        for (k, v) in headers {
            b = b.header(k, v);
        }
        b.try_send().expect("mock answers")
    }

    fn basic(user: &str, password: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
    }

    #[test]
    fn onec_refuses_wrong_basic_auth_and_filters_by_the_local_window() {
        let mock = CrmMock::start();
        mock.set_sales(Provider::OneC, four(["ЧК-1", "ЧК-2", "ЧК-3", "ЧК-4"]));
        let target =
            "/api/transactions?dateFrom=2026-11-30T00%3A00%3A00&dateTo=2026-11-30T23%3A59%3A59";

        let none = get(&mock, target, &[]);
        assert_eq!(none.status, 401);
        let wrong = get(&mock, target, &[("authorization", &basic("kassa", "nope"))]);
        assert_eq!(wrong.status, 401);
        assert!(wrong.header("www-authenticate").is_some());

        let settings = mock.settings(Provider::OneC);
        let auth = basic(
            settings["username"].as_str().unwrap(),
            settings["password"].as_str().unwrap(),
        );
        let ok = get(&mock, target, &[("authorization", &auth)]);
        assert_eq!(ok.status, 200);
        let body = ok.json();
        let list = body["Transactions"].as_array().unwrap();
        let ids: Vec<&str> = list.iter().map(|t| t["ID"].as_str().unwrap()).collect();
        assert_eq!(ids, ["ЧК-2", "ЧК-3"]);
        assert_eq!(list[0]["Date"], "2026-11-30T11:15:00");
        assert_eq!(list[0]["Total"], 2500);
        assert_eq!(list[0]["CustomerPhone"], "+79035550101");
        assert_eq!(list[0]["Items"][0]["Name"], "Окрашивание");

        let bad_window = get(
            &mock,
            "/api/transactions?dateFrom=yesterday",
            &[("authorization", &auth)],
        );
        assert_eq!(bad_window.status, 400);

        // The real connector reads the same answer.
        let parsed = fetch(&mock, Provider::OneC, day()).unwrap();
        assert_eq!(
            rows(&parsed),
            vec![
                ("ЧК-2".into(), 250_000, "+79035550101".into(), None),
                ("ЧК-3".into(), 345_000, "+79161234567".into(), None),
            ]
        );
        assert_eq!(
            parsed[1].result.as_ref().unwrap().occurred_at,
            at("2026-11-30T20:30:45Z")
        );
        let sent = mock.requests();
        let (method, path, headers, _) = sent.last().unwrap();
        assert_eq!(method, "GET");
        assert!(path.starts_with("/api/transactions?dateFrom=2026-11-30T00%3A00%3A00"));
        assert!(headers
            .iter()
            .any(|(k, v)| k == "authorization" && *v == auth));
    }

    #[test]
    fn amocrm_pages_on_the_mocks_origin_and_the_connector_drops_the_lost_lead() {
        let mock = CrmMock::start();
        mock.set_sales(
            Provider::AmoCrm,
            four(["2150001", "2150002", "2150003", "2150004"])
                .into_iter()
                .chain([sale(
                    "2150005",
                    "+79265554433",
                    700,
                    "2026-11-30T12:00:00Z",
                    "Комод",
                )])
                .collect(),
        );
        let token = format!(
            "Bearer {}",
            mock.settings(Provider::AmoCrm)["access_token"]
                .as_str()
                .unwrap()
        );
        let from = day().from.timestamp();
        let to = day().to.timestamp();
        let first_page = format!(
            "/api/v4/leads?with=contacts&filter%5Bstatuses%5D%5B0%5D%5Bstatus_id%5D=142\
             &filter%5Bclosed_at%5D%5Bfrom%5D={from}&filter%5Bclosed_at%5D%5Bto%5D={to}&limit=250&page=1"
        );
        assert_eq!(get(&mock, &first_page, &[]).status, 401);

        let page1 = get(&mock, &first_page, &[("authorization", &token)]).json();
        let leads = page1["_embedded"]["leads"].as_array().unwrap();
        assert_eq!(leads.len(), AMOCRM_PAGE_SIZE);
        assert_eq!(leads[0]["id"], 2_150_002);
        assert_eq!(leads[1]["id"], AMOCRM_LOST_LEAD_ID);
        assert_eq!(leads[1]["status_id"], 143);
        let next = page1["_links"]["next"]["href"].as_str().unwrap();
        assert!(
            next.starts_with(&format!("{}/api/v4/leads?", mock.url())),
            "{next}"
        );
        assert!(next.ends_with("page=2"), "{next}");

        let page2 = get(
            &mock,
            &next[mock.url().len()..],
            &[("authorization", &token)],
        )
        .json();
        let ids: Vec<&Value> = page2["_embedded"]["leads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| &l["id"])
            .collect();
        assert_eq!(ids, [&json!(2_150_005), &json!(2_150_003)]);
        assert!(page2["_links"].get("next").is_none());
        let contact = page2["_embedded"]["leads"][0]["_embedded"]["contacts"][0]["id"]
            .as_i64()
            .unwrap();
        let contacts = get(
            &mock,
            &format!("/api/v4/contacts?filter%5Bid%5D%5B%5D={contact}&limit=250"),
            &[("authorization", &token)],
        )
        .json();
        assert_eq!(
            contacts["_embedded"]["contacts"][0]["custom_fields_values"][1]["values"][0]["value"],
            "+79265554433"
        );
        let empty_window = first_page.replace(&format!("{from}"), &format!("{}", to + 1));
        assert_eq!(
            get(&mock, &empty_window, &[("authorization", &token)]).status,
            204
        );

        let before = mock.requests().len();
        let parsed = fetch(&mock, Provider::AmoCrm, day()).unwrap();
        assert_eq!(
            rows(&parsed),
            vec![
                (
                    "2150002".into(),
                    250_000,
                    "+79035550101".into(),
                    Some("Окрашивание".into())
                ),
                (
                    "2150005".into(),
                    70_000,
                    "+79265554433".into(),
                    Some("Комод".into())
                ),
                (
                    "2150003".into(),
                    345_000,
                    "+79161234567".into(),
                    Some("Укладка; уход".into())
                ),
            ]
        );
        let paths: Vec<String> = mock.requests()[before..]
            .iter()
            .map(|(_, p, _, _)| p.split('?').next().unwrap().to_string())
            .collect();
        assert_eq!(
            paths,
            [
                "/api/v4/leads",
                "/api/v4/contacts",
                "/api/v4/leads",
                "/api/v4/contacts"
            ]
        );
    }

    #[test]
    fn faults_answer_in_order_then_normal_service_resumes() {
        let mock = CrmMock::start();
        mock.set_sales(Provider::OneC, four(["1", "2", "3", "4"]));
        mock.fail_next(vec![
            Fault::Status(503),
            Fault::RateLimited { retry_after: 7 },
            Fault::Malformed,
            Fault::Malformed,
            Fault::Slow(Duration::from_millis(300)),
        ]);
        let unavailable = get(&mock, "/anything", &[]);
        assert_eq!(unavailable.status, 503);
        assert_eq!(unavailable.json()["message"], "mock failure 503");
        let limited = get(&mock, "/sales.csv", &[]);
        assert_eq!(limited.status, 429);
        assert_eq!(limited.header("retry-after"), Some("7"));
        let truncated = get(&mock, "/api/transactions", &[]);
        assert_eq!(truncated.status, 200);
        assert_eq!(truncated.header("content-type"), Some("application/json"));
        assert_eq!(truncated.body, b"{\"Transactions\": ");
        assert!(matches!(
            fetch(&mock, Provider::OneC, day()),
            Err(SyncError::Malformed(m)) if m.starts_with("body is not JSON")
        ));
        let started = Instant::now();
        let slow = fetch(&mock, Provider::OneC, day()).unwrap();
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert_eq!(slow.len(), 2);
        assert_eq!(fetch(&mock, Provider::OneC, day()).unwrap().len(), 2);
        assert_eq!(get(&mock, "/nowhere", &[]).status, 404);

        mock.fail_next(vec![
            Fault::Status(500),
            Fault::RateLimited { retry_after: 30 },
        ]);
        assert_eq!(
            fetch(&mock, Provider::OneC, day()),
            Err(SyncError::Status {
                status: 500,
                message: "mock failure 500".into()
            })
        );
        assert_eq!(
            fetch(&mock, Provider::Yclients, day()),
            Err(SyncError::RateLimited {
                retry_after: Some(30)
            })
        );
        assert!(fetch(&mock, Provider::Yclients, day()).unwrap().is_empty());
    }

    #[test]
    fn yclients_pages_by_count_and_the_connector_skips_the_noshow() {
        let mock = CrmMock::start();
        mock.set_sales(
            Provider::Yclients,
            four(["501101", "501102", "501103", "501104"]),
        );
        let settings = mock.settings(Provider::Yclients);
        let auth = format!(
            "Bearer {}, User {}",
            settings["partner_token"].as_str().unwrap(),
            settings["user_token"].as_str().unwrap()
        );
        let accept = ("accept", YCLIENTS_ACCEPT);
        let page = |n: usize| {
            format!("/api/v1/records/{YCLIENTS_COMPANY_ID}?start_date=2026-11-30&end_date=2026-11-30&page={n}&count=2")
        };
        assert_eq!(
            get(&mock, &page(1), &[("authorization", &auth)]).status,
            415
        );
        let refused = get(
            &mock,
            &page(1),
            &[accept, ("authorization", "Bearer x, User y")],
        );
        assert_eq!(refused.status, 401);
        assert_eq!(refused.json()["success"], false);
        let other = get(
            &mock,
            "/api/v1/records/1?start_date=2026-11-30&end_date=2026-11-30",
            &[accept, ("authorization", &auth)],
        );
        assert_eq!(other.status, 403);

        let p1 = get(&mock, &page(1), &[accept, ("authorization", &auth)]).json();
        assert_eq!(p1["success"], true);
        assert_eq!(p1["meta"]["total_count"], 3);
        let ids: Vec<&Value> = p1["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| &r["id"])
            .collect();
        assert_eq!(ids, [&json!(501_102), &json!(YCLIENTS_NOSHOW_ID)]);
        assert_eq!(p1["data"][1]["attendance"], -1);
        assert_eq!(p1["data"][1]["client"]["phone"], "+79035550101");
        assert_eq!(p1["data"][0]["datetime"], "2026-11-30T11:15:00+03:00");
        let p2 = get(&mock, &page(2), &[accept, ("authorization", &auth)]).json();
        assert_eq!(p2["data"].as_array().unwrap().len(), 1);
        assert_eq!(p2["data"][0]["id"], 501_103);
        let p3 = get(&mock, &page(3), &[accept, ("authorization", &auth)]).json();
        assert_eq!(p3["data"], json!([]));

        let parsed = fetch(&mock, Provider::Yclients, day()).unwrap();
        assert_eq!(
            rows(&parsed),
            vec![
                (
                    "501102".into(),
                    250_000,
                    "+79035550101".into(),
                    Some("Окрашивание".into())
                ),
                (
                    "501103".into(),
                    345_000,
                    "+79161234567".into(),
                    Some("Укладка; уход".into())
                ),
            ]
        );
    }

    fn sha256_hex(s: &str) -> String {
        Sha256::digest(s.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn renovatio_serves_payments_with_private_fields_and_patients() {
        let mock = CrmMock::start();
        mock.set_sales(
            Provider::Renovatio,
            four(["880011", "880012", "880013", "880014"]),
        );
        let key = mock.settings(Provider::Renovatio)["api_key"]
            .as_str()
            .unwrap()
            .to_string();
        let post = |method: &str, form: String| {
            Client::new(mock.addr())
                .post(&format!("/api/public/{method}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form)
                .try_send()
                .expect("mock answers")
                .json()
        };
        let refused = post(
            "getPayments",
            "api_key=wrong&date_from=30.11.2026&date_to=30.11.2026".into(),
        );
        assert_eq!(
            refused,
            json!({"error": 1, "data": {"code": 401, "desc": "Invalid api_key"}})
        );

        let payments = post(
            "getPayments",
            format!("api_key={key}&date_from=30.11.2026&date_to=30.11.2026&clinic_id=3"),
        );
        assert_eq!(payments["error"], 0);
        let data = payments["data"].as_array().unwrap();
        assert_eq!(data.len(), 2);
        assert_eq!(data[0]["id"], "880012");
        assert_eq!(data[0]["date"], "30.11.2026 11:15");
        assert_eq!(data[0]["value"], "2500.00");
        assert_eq!(data[0]["patient_phone"], "+79035550101");
        assert_eq!(data[0]["doctor"], RENOVATIO_DOCTOR);
        assert_eq!(data[0]["diagnosis"], RENOVATIO_DIAGNOSIS);
        assert_eq!(data[0]["services"][0]["title"], "Окрашивание");
        assert_eq!(data[1]["date"], "30.11.2026 23:30:45");

        let pid = data[0]["patient_id"].as_str().unwrap();
        let patient = post("getPatient", format!("api_key={key}&patient_id={pid}"));
        assert_eq!(patient["data"]["mobile"], "+79035550101");
        let unknown = post("getPatient", format!("api_key={key}&patient_id=1"));
        assert_eq!(unknown["data"]["code"], 404);

        let parsed = fetch(&mock, Provider::Renovatio, day()).unwrap();
        assert_eq!(
            rows(&parsed),
            vec![
                ("880012".into(), 250_000, sha256_hex("+79035550101"), None),
                ("880013".into(), 345_000, sha256_hex("+79161234567"), None),
            ]
        );
        let kept = format!("{parsed:?}");
        for private in [
            RENOVATIO_DOCTOR,
            RENOVATIO_DIAGNOSIS,
            "Окрашивание",
            "+7903",
            RENOVATIO_PATIENT_NAMES[0],
        ] {
            assert!(!kept.contains(private), "{private} leaked into {kept}");
        }
        let (method, path, _, body) = mock.requests().pop().unwrap();
        assert_eq!(
            (method.as_str(), path.as_str()),
            ("POST", "/api/public/getPayments")
        );
        assert!(String::from_utf8(body)
            .unwrap()
            .starts_with(&format!("api_key={key}&")));
    }

    #[test]
    fn csv_file_has_bom_semicolons_and_decimal_commas_and_reads_back() {
        let mock = CrmMock::start();
        mock.set_sales(Provider::Csv, four(["A-1", "A-2", "A-3", "A-4"]));
        assert_eq!(get(&mock, "/sales.csv", &[]).status, 401);
        let auth = mock.settings(Provider::Csv)["authorization"]
            .as_str()
            .unwrap()
            .to_string();
        let file = get(&mock, "/sales.csv", &[("authorization", &auth)]);
        assert_eq!(file.status, 200);
        assert_eq!(file.header("content-type"), Some("text/csv; charset=utf-8"));
        assert!(file.body.starts_with(b"\xEF\xBB\xBF"));
        let text = file.text();
        let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(lines.len(), 5);
        assert_eq!(
            lines[1],
            "A-1;29.11.2026 23:30;+79161234567;1000,00;;Стрижка"
        );
        assert_eq!(
            lines[3],
            "A-3;30.11.2026 23:30:45;+79161234567;3450,00;;\"Укладка; уход\""
        );

        let parsed = fetch(&mock, Provider::Csv, day()).unwrap();
        assert_eq!(
            rows(&parsed),
            vec![
                (
                    "A-2".into(),
                    250_000,
                    "+79035550101".into(),
                    Some("Окрашивание".into())
                ),
                (
                    "A-3".into(),
                    345_000,
                    "+79161234567".into(),
                    Some("Укладка; уход".into())
                ),
            ]
        );
    }

    #[test]
    fn unknown_paths_are_json_404s_and_settings_name_the_mock() {
        let mock = CrmMock::start();
        let missing = get(&mock, "/api/v2/nothing?x=1", &[]);
        assert_eq!(missing.status, 404);
        assert_eq!(
            missing.json()["message"],
            "no such endpoint: GET /api/v2/nothing"
        );
        for provider in Provider::ALL {
            let settings = mock.settings(provider);
            let target = settings
                .get("base_url")
                .or_else(|| settings.get("url"))
                .and_then(Value::as_str)
                .unwrap();
            assert!(target.starts_with(&mock.url()), "{provider:?}: {target}");
            Kind::parse(provider.kind(), "type")
                .unwrap()
                .configure(&settings)
                .unwrap_or_else(|e| panic!("{provider:?}: {e}"));
        }
        assert_eq!(mock.requests().len(), 1);
    }
}
