//! Events end to end through the host: create → list → register → ticket
//! → check-in → badge progress; fifty parallel registrations for ten
//! seats; a cancellation racing twenty registrations; a paid seat held and
//! confirmed by the payment webhook (points, budget); an expired hold going
//! to the waitlist; parallel and changed votes; the closing job twice at
//! once; the budget's limit; bad input writing nothing; the feature gate.

use std::{
    collections::{BTreeSet, HashMap},
    thread,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use krug_e2e::{spawn_auth_app_with, AuthApp, TestResponse, Tokens};
use serde_json::{json, Value};

const SECRET: &str = "whsec_events";

struct Cast {
    app: AuthApp,
    admin: Tokens,
    /// Business A and its owner.
    a: String,
    owner_a: Tokens,
    /// Staff of business B.
    staff_b: Tokens,
}

fn cast_with(extra: &[(&str, &str)]) -> Cast {
    let mut vars = HashMap::from([
        ("payments_webhook_secret".to_string(), SECRET.to_string()),
        (
            "max_purchases_per_business_day".to_string(),
            "1000".to_string(),
        ),
    ]);
    for (k, v) in extra {
        vars.insert((*k).to_string(), (*v).to_string());
    }
    let app = spawn_auth_app_with(vars);
    let admin = app.admin();
    let a = app.create_business(&admin, "Лисичкино", "gastronomy");
    let b = app.create_business(&admin, "Миндаль", "beauty");
    let owner_a = app.staff_login(&admin, &a, "+79167770001", "owner");
    let staff_b = app.staff_login(&admin, &b, "+79167770002", "manager");
    Cast {
        app,
        admin,
        a,
        owner_a,
        staff_b,
    }
}

fn cast() -> Cast {
    cast_with(&[])
}

fn phone(i: usize) -> String {
    format!("+7916778{i:04}")
}

fn members(app: &AuthApp, from: usize, n: usize) -> Vec<Tokens> {
    (from..from + n).map(|i| app.login(&phone(i))).collect()
}

fn iso(at: SystemTime) -> String {
    let secs = at.duration_since(UNIX_EPOCH).unwrap().as_secs();
    krug_e2e::rfc3339_at(i64::try_from(secs).unwrap())
}

fn event_body(business: &str, format: &str, price: i64, capacity: i64, days: u64) -> Value {
    let start = SystemTime::now() + Duration::from_secs(days * 86_400);
    json!({
        "title": "Винный вечер", "description": "Дегустация с сомелье", "type": "tasting",
        "format": format, "price": price, "business_id": business, "capacity": capacity,
        "starts_at": iso(start), "ends_at": iso(start + Duration::from_secs(3 * 3600)),
        "plus_one_allowed": true, "address": "ул. Примерная, 10",
        "program": [{"time": "19:00", "activity": "Приветственный коктейль"}],
        "speakers": [{"name": "Мария Петрова", "title": "Сомелье"}],
        "what_to_bring": ["Хорошее настроение"]
    })
}

fn create_event(c: &Cast, who: &Tokens, body: &Value) -> String {
    let resp = c
        .app
        .client
        .post("/api/v1/admin/events")
        .bearer(&who.access)
        .json(body)
        .send();
    assert_eq!(resp.status, 201, "{}", resp.text());
    resp.json()["id"].as_str().unwrap().to_string()
}

fn register(app: &AuthApp, who: &Tokens, event: &str, body: Option<Value>) -> TestResponse {
    let mut req = app
        .client
        .post(&format!("/api/v1/events/{event}/register"))
        .bearer(&who.access);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send()
}

fn unregister(app: &AuthApp, who: &Tokens, event: &str) -> TestResponse {
    app.client
        .delete(&format!("/api/v1/events/{event}/register"))
        .bearer(&who.access)
        .send()
}

fn check_in(app: &AuthApp, who: &Tokens, event: &str, code: &str) -> TestResponse {
    app.client
        .post(&format!("/api/v1/events/{event}/check-in"))
        .bearer(&who.access)
        .json(&json!({ "ticket_code": code }))
        .send()
}

fn seats_taken(app: &AuthApp, event: &str) -> i64 {
    app.count(&format!(
        "SELECT seats_taken FROM events WHERE id = '{event}'"
    ))
}

fn status_of(app: &AuthApp, registration: &str) -> String {
    let conn = rusqlite::Connection::open(app.db_path()).unwrap();
    conn.query_row(
        "SELECT status FROM event_registrations WHERE id = ?",
        [registration],
        |r| r.get(0),
    )
    .unwrap()
}

fn set_tier(app: &AuthApp, member: &Tokens, tier: &str) {
    let conn = rusqlite::Connection::open(app.db_path()).unwrap();
    conn.execute(
        "UPDATE members SET tier = ? WHERE id = ?",
        [tier, member.member_id.as_str()],
    )
    .unwrap();
}

fn pay(app: &AuthApp, offset: i64, data: Value) -> TestResponse {
    let body = json!({
        "id": format!("evt_{}", krug_e2e::random_hex(8)),
        "type": "payment.succeeded",
        "created": krug_e2e::unix_now() + offset,
        "data": data,
    })
    .to_string();
    krug_e2e::deliver_generic(&app.client, SECRET, body, offset)
}

#[test]
fn create_list_register_ticket_check_in_and_badge_progress() {
    let c = cast();
    let app = &c.app;
    let member = app.login(&phone(1));
    let first = create_event(&c, &c.owner_a, &event_body(&c.a, "free", 0, 20, 3));
    // The owner of another business may not organise here.
    let foreign = app
        .client
        .post("/api/v1/admin/events")
        .bearer(&c.staff_b.access)
        .json(&event_body(&c.a, "free", 0, 20, 3))
        .send();
    assert_eq!(foreign.status, 403, "{}", foreign.text());

    let list = app
        .client
        .get("/api/v1/events?status=upcoming")
        .bearer(&member.access)
        .send();
    assert_eq!(list.status, 200, "{}", list.text());
    let items = list.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], first.as_str());
    assert_eq!(items[0]["location"]["business_name"], "Лисичкино");
    assert_eq!(
        (&items[0]["can_register"], &items[0]["is_registered"]),
        (&json!(true), &json!(false))
    );
    let anonymous = app.client.get("/api/v1/events").send();
    assert_eq!(anonymous.json()["items"][0]["can_register"], false);

    let reg = register(app, &member, &first, None);
    assert_eq!(reg.status, 201, "{}", reg.text());
    let body = reg.json();
    assert_eq!(body["status"], "confirmed");
    let code = body["ticket"]["code"].as_str().unwrap().to_string();
    assert!(body["ticket"]["svg"].as_str().unwrap().contains("<svg"));
    let detail = app
        .client
        .get(&format!("/api/v1/events/{first}"))
        .bearer(&member.access)
        .send()
        .json();
    assert_eq!(detail["is_registered"], true);
    assert_eq!(detail["registered_count"], 1);
    assert_eq!(detail["my_registration"]["ticket"]["code"], code.as_str());
    assert_eq!(detail["program"][0]["time"], "19:00");

    // Staff of another business cannot check in here; the organiser's can,
    // once.
    assert_eq!(check_in(app, &c.staff_b, &first, &code).status, 403);
    assert_eq!(check_in(app, &member, &first, &code).status, 403);
    let done = check_in(app, &c.owner_a, &first, &code);
    assert_eq!(done.status, 200, "{}", done.text());
    assert_eq!(done.json()["events_attended"], 1);
    let again = check_in(app, &c.owner_a, &first, &code);
    assert_eq!(
        (again.status, again.error_code().as_str()),
        (409, "ALREADY_CHECKED_IN")
    );

    // Nine more events attended: the tenth gives the badge.
    let mut last = Value::Null;
    for _ in 0..9 {
        let e = create_event(&c, &c.owner_a, &event_body(&c.a, "free", 0, 5, 2));
        let r = register(
            app,
            &member,
            &e,
            Some(json!({"dietary_restrictions": "без глютена"})),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        let code = r.json()["ticket"]["code"].as_str().unwrap().to_string();
        let done = check_in(app, &c.owner_a, &e, &code);
        assert_eq!(done.status, 200, "{}", done.text());
        last = done.json();
    }
    assert_eq!(last["events_attended"], 10);
    assert_eq!(last["badges_awarded"], json!(["event_regular"]));
    let wallet = app
        .client
        .get("/api/v1/wallet")
        .bearer(&member.access)
        .send()
        .json();
    assert!(
        wallet["badges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["code"] == "event_regular"),
        "{wallet}"
    );
}

#[test]
fn fifty_parallel_registrations_for_ten_seats() {
    let c = cast();
    let app = &c.app;
    let event = create_event(&c, &c.owner_a, &event_body(&c.a, "free", 0, 10, 3));
    let people = members(app, 100, 50);
    let answers: Vec<Value> = thread::scope(|s| {
        let handles: Vec<_> = people
            .iter()
            .map(|m| s.spawn(|| register(app, m, &event, None)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                let r = h.join().unwrap();
                assert_eq!(r.status, 201, "{}", r.text());
                r.json()
            })
            .collect()
    });
    let confirmed = answers
        .iter()
        .filter(|a| a["status"] == "confirmed")
        .count();
    let positions: BTreeSet<i64> = answers
        .iter()
        .filter(|a| a["status"] == "waitlist")
        .map(|a| a["position"].as_i64().unwrap())
        .collect();
    assert_eq!(confirmed, 10);
    assert_eq!(positions, (1..=40).collect::<BTreeSet<i64>>());
    assert_eq!(seats_taken(app, &event), 10);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM event_registrations WHERE event_id = '{event}' AND status = 'waitlist'"
        )),
        40
    );
}

#[test]
fn a_cancellation_racing_twenty_registrations_gives_the_seat_to_the_waitlist() {
    let c = cast();
    let app = &c.app;
    let event = create_event(&c, &c.owner_a, &event_body(&c.a, "free", 0, 1, 3));
    let holder = app.login(&phone(200));
    let first_in_line = app.login(&phone(201));
    assert_eq!(
        register(app, &holder, &event, None).json()["status"],
        "confirmed"
    );
    let waiting = register(app, &first_in_line, &event, None).json();
    assert_eq!(
        (&waiting["status"], &waiting["position"]),
        (&json!("waitlist"), &json!(1))
    );
    let newcomers = members(app, 210, 20);
    let (cancelled, answers) = thread::scope(|s| {
        let handles: Vec<_> = newcomers
            .iter()
            .map(|m| s.spawn(|| register(app, m, &event, None)))
            .collect();
        let cancelled = unregister(app, &holder, &event);
        let answers: Vec<Value> = handles
            .into_iter()
            .map(|h| h.join().unwrap().json())
            .collect();
        (cancelled, answers)
    });
    assert_eq!(cancelled.status, 200, "{}", cancelled.text());
    assert_eq!(cancelled.json()["promoted"], 1);
    assert!(
        answers.iter().all(|a| a["status"] == "waitlist"),
        "{answers:?}"
    );
    assert_eq!(
        status_of(app, waiting["registration_id"].as_str().unwrap()),
        "confirmed"
    );
    assert_eq!(seats_taken(app, &event), 1);
}

#[test]
fn a_paid_hold_is_confirmed_by_the_webhook_and_earns_points() {
    let c = cast();
    let app = &c.app;
    let member = app.login(&phone(300));
    let event = create_event(&c, &c.owner_a, &event_body(&c.a, "paid", 250_000, 5, 3));
    let held = register(app, &member, &event, None);
    assert_eq!(held.status, 201, "{}", held.text());
    let held = held.json();
    assert_eq!(held["status"], "pending_payment");
    assert_eq!(held["amount_due"], 250_000);
    assert!(held.get("ticket").is_none());
    let rid = held["registration_id"].as_str().unwrap();
    let paid = pay(
        app,
        0,
        json!({ "payment_id": "pay_ev_1", "order_ref": format!("event:{rid}"), "business_id": c.a,
                "amount": 250_000, "currency": "RUB", "member_id": member.member_id }),
    );
    assert_eq!(paid.status, 200, "{}", paid.text());
    assert_eq!(paid.json()["status"], "processed");
    let detail = app
        .client
        .get(&format!("/api/v1/events/{event}"))
        .bearer(&member.access)
        .send()
        .json();
    assert_eq!(detail["my_registration"]["status"], "confirmed");
    assert!(detail["my_registration"]["ticket"]["svg"].is_string());
    let wallet = app
        .client
        .get("/api/v1/wallet")
        .bearer(&member.access)
        .send()
        .json();
    assert!(
        wallet["balance"]["pending"].as_i64().unwrap() > 0,
        "{wallet}"
    );
    let budget = app
        .client
        .get("/api/v1/events/budget")
        .bearer(&member.access)
        .send();
    assert_eq!(budget.status, 200, "{}", budget.text());
    assert_eq!(budget.json()["my_contribution"], 5_000);
    assert_eq!(budget.json()["split"]["vip"], 40);

    // The organiser cancels: the paid seat is owed back.
    let cancelled = app
        .client
        .post(&format!("/api/v1/admin/events/{event}/cancel"))
        .bearer(&c.owner_a.access)
        .send();
    assert_eq!(cancelled.status, 200, "{}", cancelled.text());
    let refunds = cancelled.json()["refunds_due"].clone();
    assert_eq!(
        refunds,
        json!([{ "registration_id": rid, "member_id": member.member_id, "amount": 250_000 }])
    );
    assert_eq!(seats_taken(app, &event), 0);
}

#[test]
fn an_expired_hold_gives_its_seat_to_the_waitlist() {
    let c = cast();
    let app = &c.app;
    let late = app.login(&phone(400));
    let next = app.login(&phone(401));
    let event = create_event(&c, &c.owner_a, &event_body(&c.a, "paid", 100_000, 1, 3));
    let held = register(app, &late, &event, None).json();
    assert_eq!(held["status"], "pending_payment");
    let queued = register(app, &next, &event, None).json();
    assert_eq!(queued["status"], "waitlist");
    app.host.advance_clock(Duration::from_secs(31 * 60));
    let run = app.run_job("events-expire-holds");
    assert_eq!(run["report"]["affected"], 1, "{run}");
    let lapsed = held["registration_id"].as_str().unwrap();
    let promoted = queued["registration_id"].as_str().unwrap();
    assert_eq!(status_of(app, lapsed), "expired");
    assert_eq!(status_of(app, promoted), "pending_payment");
    assert_eq!(seats_taken(app, &event), 1);
    // The late payment finds no seat: recorded as refund due, the seat
    // stays with the waitlisted member.
    let paid = pay(
        app,
        31 * 60,
        json!({ "payment_id": "pay_late", "order_ref": format!("event:{lapsed}"), "business_id": c.a,
                "amount": 100_000, "currency": "RUB", "member_id": late.member_id }),
    );
    assert_eq!(paid.status, 200, "{}", paid.text());
    assert_eq!(status_of(app, lapsed), "expired");
    assert_eq!(
        app.count(&format!(
            "SELECT refund_due FROM event_registrations WHERE id = '{lapsed}'"
        )),
        100_000
    );
    assert_eq!(seats_taken(app, &event), 1);
}

fn proposal_body() -> Value {
    json!({
        "title": "Йога на крыше", "description": "Утренняя практика", "type": "wellness",
        "preferred_date": "2099-06-01", "budget_per_person": 150_000, "capacity": 15,
        "program": [{"time": "08:00", "activity": "Йога"}]
    })
}

fn propose(c: &Cast, phone_no: usize) -> String {
    let author = c.app.login(&phone(phone_no));
    set_tier(&c.app, &author, "vip");
    let resp = c
        .app
        .client
        .post("/api/v1/events/proposals")
        .bearer(&author.access)
        .json(&proposal_body())
        .send();
    assert_eq!(resp.status, 201, "{}", resp.text());
    assert_eq!(resp.json()["status"], "voting");
    resp.json()["proposal_id"].as_str().unwrap().to_string()
}

fn vote(app: &AuthApp, who: &Tokens, proposal: &str, v: &str) -> TestResponse {
    app.client
        .post(&format!("/api/v1/events/proposals/{proposal}/vote"))
        .bearer(&who.access)
        .json(&json!({ "vote": v }))
        .send()
}

#[test]
fn one_member_voting_twenty_times_in_parallel_counts_once_and_may_change_the_vote() {
    let c = cast();
    let app = &c.app;
    let proposal = propose(&c, 500);
    let voter = app.login(&phone(501));
    let statuses: Vec<u16> = thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let v = if i % 2 == 0 { "yes" } else { "no" };
                let voter = &voter;
                let proposal = &proposal;
                s.spawn(move || vote(app, voter, proposal, v).status)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM proposal_votes WHERE proposal_id = '{proposal}'"
        )),
        1
    );
    let yes = vote(app, &voter, &proposal, "yes").json();
    assert_eq!(
        (
            &yes["total_votes"],
            &yes["yes_votes"],
            &yes["user_vote_weight"]
        ),
        (&json!(1), &json!(1), &json!(1))
    );
    set_tier(app, &voter, "elite");
    let no = vote(app, &voter, &proposal, "no").json();
    assert_eq!(
        (
            &no["total_votes"],
            &no["no_votes"],
            &no["weighted_score"],
            &no["user_vote_weight"]
        ),
        (&json!(1), &json!(1), &json!(-3), &json!(3))
    );
    let list = app
        .client
        .get("/api/v1/events/proposals?status=voting")
        .bearer(&voter.access)
        .send();
    assert_eq!(list.status, 200, "{}", list.text());
    assert_eq!(list.json()["items"][0]["tally"]["user_vote"], "no");
}

#[test]
fn the_closing_job_run_twice_at_once_decides_once_and_the_admin_realises_it() {
    let c = cast_with(&[("proposal_min_votes", "2")]);
    let app = &c.app;
    let proposal = propose(&c, 600);
    for v in members(app, 601, 3) {
        assert_eq!(vote(app, &v, &proposal, "yes").status, 200);
    }
    app.host.advance_clock(Duration::from_secs(7 * 86_400 + 60));
    let runs: Vec<Value> = thread::scope(|s| {
        let a = s.spawn(|| app.run_job("events-close-proposals"));
        let b = s.spawn(|| app.run_job("events-close-proposals"));
        vec![a.join().unwrap(), b.join().unwrap()]
    });
    let decided: i64 = runs
        .iter()
        .map(|r| r["report"]["affected"].as_i64().unwrap())
        .sum();
    assert_eq!(decided, 1, "{runs:?}");
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM event_proposals WHERE id = '{proposal}' AND status = 'approved'"
        )),
        1
    );
    let admin = app.admin();
    let mut body = event_body(&c.a, "free", 0, 15, 10);
    body["title"] = json!("Йога на крыше");
    let realized = app
        .client
        .post(&format!(
            "/api/v1/admin/events/proposals/{proposal}/realize"
        ))
        .bearer(&admin.access)
        .json(&body)
        .send();
    assert_eq!(realized.status, 201, "{}", realized.text());
    assert_eq!(realized.json()["proposal_id"], proposal.as_str());
    let twice = app
        .client
        .post(&format!(
            "/api/v1/admin/events/proposals/{proposal}/realize"
        ))
        .bearer(&admin.access)
        .json(&body)
        .send();
    assert_eq!(
        (twice.status, twice.error_code().as_str()),
        (409, "PROPOSAL_NOT_APPROVED")
    );
}

#[test]
fn the_budget_never_allocates_beyond_what_is_available() {
    let c = cast();
    let app = &c.app;
    let member = app.login(&phone(700));
    let event = create_event(&c, &c.owner_a, &event_body(&c.a, "free", 0, 10, 3));
    let card = app
        .client
        .get("/api/v1/wallet")
        .bearer(&member.access)
        .send()
        .json()["card_number"]
        .as_str()
        .unwrap()
        .to_string();
    let sale = app
        .client
        .post("/api/v1/pos/purchases")
        .bearer(&c.owner_a.access)
        .header("idempotency-key", "events-budget-1")
        .json(&json!({ "member": { "card_number": card }, "amount": 100_000 }))
        .send();
    assert_eq!(sale.status, 201, "{}", sale.text());
    let allocate = |amount: i64| {
        app.client
            .post(&format!("/api/v1/admin/events/{event}/budget"))
            .bearer(&c.admin.access)
            .json(&json!({ "amount": amount }))
            .send()
    };
    let ok = allocate(1_500);
    assert_eq!(ok.status, 201, "{}", ok.text());
    assert_eq!(ok.json()["available"], 500);
    let before = app.table_counts();
    let over = allocate(501);
    assert_eq!(
        (over.status, over.error_code().as_str()),
        (409, "BUDGET_EXCEEDED")
    );
    assert_eq!(app.table_counts(), before);
    // Owners do not allocate.
    assert_eq!(
        app.client
            .post(&format!("/api/v1/admin/events/{event}/budget"))
            .bearer(&c.owner_a.access)
            .json(&json!({ "amount": 1 }))
            .send()
            .status,
        403
    );
    let view = app
        .client
        .get("/api/v1/events/budget")
        .bearer(&member.access)
        .send()
        .json();
    assert_eq!(
        (
            &view["contributed"],
            &view["my_contribution"],
            &view["my_purchases"],
            &view["available"]
        ),
        (&json!(2_000), &json!(2_000), &json!(100_000), &json!(500))
    );
    assert_eq!(view["allocated"][0]["amount"], 1_500);
    let bad = app
        .client
        .get("/api/v1/events/budget?month=2026-13")
        .bearer(&member.access)
        .send();
    assert_eq!(
        (bad.status, bad.error_code().as_str()),
        (422, "INVALID_MONTH")
    );
}

#[test]
fn bad_input_is_refused_and_writes_nothing() {
    let c = cast();
    let app = &c.app;
    let insider = app.login(&phone(800));
    let event = create_event(&c, &c.owner_a, &event_body(&c.a, "free", 0, 5, 3));
    let other = create_event(&c, &c.owner_a, &event_body(&c.a, "free", 0, 5, 3));
    let ticket = register(app, &insider, &other, None).json()["ticket"]["code"]
        .as_str()
        .unwrap()
        .to_string();
    let closed = propose(&c, 801);
    app.host.advance_clock(Duration::from_secs(7 * 86_400 + 60));
    app.run_job("events-close-proposals");
    let insider = app.login(&phone(800));
    let owner = app.login("+79167770001");
    let before = app.table_counts();

    let mut cases: Vec<(TestResponse, u16, &str)> = Vec::new();
    // The host's clock has moved on a week: these events start later.
    for capacity in [0, -3] {
        let mut b = event_body(&c.a, "free", 0, 5, 30);
        b["capacity"] = json!(capacity);
        let r = app
            .client
            .post("/api/v1/admin/events")
            .bearer(&owner.access)
            .json(&b)
            .send();
        cases.push((r, 422, "INVALID_CAPACITY"));
    }
    let mut b = event_body(&c.a, "free", 0, 5, 30);
    b["ends_at"] = b["starts_at"].clone();
    let r = app
        .client
        .post("/api/v1/admin/events")
        .bearer(&owner.access)
        .json(&b)
        .send();
    cases.push((r, 422, "ENDS_BEFORE_START"));
    let mut b = event_body(&c.a, "free", 0, 5, 30);
    b["unknown"] = json!(1);
    let r = app
        .client
        .post("/api/v1/admin/events")
        .bearer(&owner.access)
        .json(&b)
        .send();
    cases.push((r, 422, "INVALID_FIELD"));
    let r = app
        .client
        .post("/api/v1/admin/events")
        .bearer(&owner.access)
        .raw_json("{\"title\": ")
        .send();
    cases.push((r, 400, "MALFORMED_JSON"));
    cases.push((vote(app, &insider, &closed, "yes"), 409, "VOTING_CLOSED"));
    cases.push((
        check_in(app, &owner, &event, &ticket),
        422,
        "TICKET_FOR_ANOTHER_EVENT",
    ));
    cases.push((
        check_in(app, &owner, &event, "not-a-ticket"),
        422,
        "INVALID_TICKET",
    ));
    let r = app
        .client
        .post("/api/v1/events/proposals")
        .bearer(&insider.access)
        .json(&proposal_body())
        .send();
    cases.push((r, 403, "TIER_TOO_LOW"));
    let r = register(app, &insider, "01890a5d-ac96-774b-bcce-b302099a8057", None);
    cases.push((r, 404, "EVENT_NOT_FOUND"));
    let r = register(app, &insider, &event, Some(json!({ "plus_one": "yes" })));
    cases.push((r, 422, "INVALID_FIELD"));
    let r = app
        .client
        .post(&format!("/api/v1/events/{event}/register"))
        .send();
    cases.push((r, 401, "UNAUTHORIZED"));
    let r = app
        .client
        .get("/api/v1/events?status=soon")
        .bearer(&insider.access)
        .send();
    cases.push((r, 422, "INVALID_FIELD"));
    for (i, (resp, status, code)) in cases.iter().enumerate() {
        assert_eq!(
            (resp.status, resp.error_code().as_str()),
            (*status, *code),
            "case {i}: {}",
            resp.text()
        );
    }
    assert_eq!(app.table_counts(), before, "a refused request wrote rows");
}

#[test]
fn the_events_flag_gates_member_routes_but_not_check_in() {
    let c = cast();
    let app = &c.app;
    let member = app.login(&phone(900));
    let event = create_event(&c, &c.owner_a, &event_body(&c.a, "free", 0, 5, 3));
    let code = register(app, &member, &event, None).json()["ticket"]["code"]
        .as_str()
        .unwrap()
        .to_string();
    let off = app
        .client
        .request("PUT", "/api/v1/admin/flags/events")
        .bearer(&c.admin.access)
        .json(&json!({ "enabled": false }))
        .send();
    assert_eq!(off.status, 200, "{}", off.text());
    for resp in [
        app.client
            .get("/api/v1/events")
            .bearer(&member.access)
            .send(),
        app.client.get(&format!("/api/v1/events/{event}")).send(),
        unregister(app, &member, &event),
        app.client
            .get("/api/v1/events/budget")
            .bearer(&member.access)
            .send(),
    ] {
        assert_eq!(
            (resp.status, resp.error_code().as_str()),
            (404, "FEATURE_DISABLED"),
            "{}",
            resp.text()
        );
    }
    let done = check_in(app, &c.owner_a, &event, &code);
    assert_eq!(done.status, 200, "{}", done.text());
}

#[test]
fn closed_events_need_an_invitation_and_a_larger_capacity_promotes_the_waitlist() {
    let c = cast();
    let app = &c.app;
    let guest = app.login(&phone(950));
    let vip_only = app.login(&phone(951));
    let closed = create_event(&c, &c.owner_a, &event_body(&c.a, "closed", 0, 1, 3));
    let refused = register(app, &guest, &closed, None);
    assert_eq!(
        (refused.status, refused.error_code().as_str()),
        (403, "INVITATION_REQUIRED")
    );
    let listed = app
        .client
        .get(&format!("/api/v1/events/{closed}"))
        .bearer(&guest.access)
        .send()
        .json();
    assert_eq!(listed["can_register"], false);
    let invited = app
        .client
        .post(&format!("/api/v1/admin/events/{closed}/invitations"))
        .bearer(&c.owner_a.access)
        .json(&json!({ "member_id": guest.member_id }))
        .send();
    assert_eq!(invited.status, 201, "{}", invited.text());
    assert_eq!(invited.json()["status"], "invited");
    let ok = register(app, &guest, &closed, None);
    assert_eq!(ok.status, 201, "{}", ok.text());
    assert_eq!(ok.json()["status"], "confirmed");

    // A vip event: an insider is refused, a vip waits, more seats promote.
    let mut body = event_body(&c.a, "free", 0, 1, 3);
    body["min_tier"] = json!("vip");
    let vip = create_event(&c, &c.owner_a, &body);
    let low = register(app, &vip_only, &vip, None);
    assert_eq!(
        (low.status, low.error_code().as_str()),
        (403, "TIER_TOO_LOW")
    );
    set_tier(app, &vip_only, "vip");
    set_tier(app, &guest, "elite");
    assert_eq!(
        register(app, &guest, &vip, None).json()["status"],
        "confirmed"
    );
    let waiting = register(app, &vip_only, &vip, Some(json!({ "plus_one": true }))).json();
    assert_eq!(
        (&waiting["status"], &waiting["position"]),
        (&json!("waitlist"), &json!(1))
    );
    let grown = app
        .client
        .patch(&format!("/api/v1/admin/events/{vip}"))
        .bearer(&c.owner_a.access)
        .json(&json!({ "capacity": 3, "title": "Ужин с собственницами" }))
        .send();
    assert_eq!(grown.status, 200, "{}", grown.text());
    assert_eq!(
        (&grown.json()["registered_count"], &grown.json()["title"]),
        (&json!(3), &json!("Ужин с собственницами"))
    );
    assert_eq!(
        status_of(app, waiting["registration_id"].as_str().unwrap()),
        "confirmed"
    );
    let shrink = app
        .client
        .patch(&format!("/api/v1/admin/events/{vip}"))
        .bearer(&c.owner_a.access)
        .json(&json!({ "capacity": 2 }))
        .send();
    assert_eq!(
        (shrink.status, shrink.error_code().as_str()),
        (409, "CAPACITY_BELOW_TAKEN")
    );
}
