//! Support end to end through the host with a mock Telegram Bot API: a
//! ticket appears as `sendMessage` in the support chat, a reply there
//! becomes a staff message, `/close` closes, one update delivered ten times
//! at once has one effect, an outage (502, then 429 with `retry_after`)
//! loses nothing and keeps the order, a forged secret is 401 with nothing
//! written, a dispute ends in compensation points once, an SLA breach
//! escalates once when the job runs twice at once, the FAQ, and bad input.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    thread,
    time::Duration,
};

use krug_e2e::{spawn_auth_app_with, Cast, Club, MockServer, TestResponse, Tokens};
use serde_json::{json, Value};

const TOKEN: &str = "123456:TEST-bot-token";
const CHAT: i64 = -1_001_777_000;
const SECRET: &str = "tg-webhook-secret_1";
const AGENT_TG: i64 = 4242;

/// What the mock Bot API does next: `None` in the script answers 200.
struct Telegram {
    mock: MockServer,
    script: Arc<Mutex<VecDeque<(u16, String)>>>,
    delivered: Arc<Mutex<Vec<Value>>>,
}

impl Telegram {
    fn start() -> Self {
        let script: Arc<Mutex<VecDeque<(u16, String)>>> = Arc::default();
        let delivered: Arc<Mutex<Vec<Value>>> = Arc::default();
        let (s, d) = (script.clone(), delivered.clone());
        let mock = MockServer::start_with(move |r| {
            if r.path != format!("/bot{TOKEN}/sendMessage") {
                return (
                    404,
                    r#"{"ok":false,"error_code":404,"description":"Not Found"}"#.into(),
                );
            }
            if let Some(next) = s.lock().unwrap().pop_front() {
                return next;
            }
            let mut d = d.lock().unwrap();
            d.push(r.json());
            let id = 100 + d.len();
            (
                200,
                json!({"ok": true, "result": {"message_id": id, "date": 1_767_225_600,
                    "chat": {"id": CHAT, "type": "supergroup", "title": "Support"}, "text": "..."}})
                .to_string(),
            )
        });
        Self {
            mock,
            script,
            delivered,
        }
    }

    fn then(&self, status: u16, body: &str) {
        self.script
            .lock()
            .unwrap()
            .push_back((status, body.to_string()));
    }

    fn delivered(&self) -> Vec<Value> {
        self.delivered.lock().unwrap().clone()
    }
}

struct Desk {
    c: Club,
    tg: Telegram,
}

fn desk() -> Desk {
    let tg = Telegram::start();
    let app = spawn_auth_app_with(HashMap::from([
        ("telegram_api_url".to_string(), tg.mock.url()),
        ("telegram_bot_token".to_string(), TOKEN.to_string()),
        ("telegram_chat_id".to_string(), CHAT.to_string()),
        ("telegram_webhook_secret".to_string(), SECRET.to_string()),
        (
            "support_sla_minutes".to_string(),
            "urgent=60,high=240,normal=1440,low=4320".to_string(),
        ),
    ]));
    let c = Club::open(
        app,
        &Cast {
            a: ("Market A", "gastronomy"),
            b: ("Salon B", "beauty"),
            role: "manager",
            phones: ["+79165550001", "+79165550002", "+79165550003"],
        },
    );
    Desk { c, tg }
}

impl Desk {
    fn post(&self, who: &Tokens, path: &str, body: &Value) -> TestResponse {
        self.c
            .app
            .client
            .post(path)
            .bearer(&who.access)
            .json(body)
            .send()
    }

    fn get(&self, who: &Tokens, path: &str) -> TestResponse {
        self.c.app.client.get(path).bearer(&who.access).send()
    }

    fn ticket(&self, who: &Tokens, subject: &str, body: &str) -> Value {
        let r = self.post(
            who,
            "/api/v1/support/tickets",
            &json!({ "subject": subject, "body": body, "business_id": self.c.a }),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()
    }

    fn deliver(&self) -> i64 {
        self.c.app.run_job("support-deliver-telegram")["report"]["affected"]
            .as_i64()
            .unwrap()
    }

    fn map_agent(&self, member: &Tokens) {
        let r = self.post(
            &self.c.admin,
            "/api/v1/admin/support/agents",
            &json!({ "member_id": member.member_id, "telegram_user_id": AGENT_TG }),
        );
        assert_eq!(r.status, 201, "{}", r.text());
    }

    fn update(&self, update: &Value, secret: Option<&str>) -> TestResponse {
        let mut req = self.c.app.client.post("/webhooks/telegram").json(update);
        if let Some(s) = secret {
            req = req.header("x-telegram-bot-api-secret-token", s);
        }
        req.send()
    }

    fn count(&self, q: &str) -> i64 {
        self.c.app.count(q)
    }
}

fn reply(update_id: i64, to_message: i64, text: &str) -> Value {
    json!({
        "update_id": update_id,
        "message": {
            "message_id": 5000 + update_id,
            "from": {"id": AGENT_TG, "is_bot": false, "first_name": "Olga", "username": "olga_support"},
            "chat": {"id": CHAT, "type": "supergroup", "title": "Support"},
            "date": 1_767_225_600,
            "text": text,
            "reply_to_message": {
                "message_id": to_message,
                "from": {"id": 1, "is_bot": true, "first_name": "Krug"},
                "chat": {"id": CHAT, "type": "supergroup", "title": "Support"},
                "date": 1_767_225_500,
                "text": "ticket"
            }
        }
    })
}

#[test]
fn a_ticket_reaches_the_chat_a_reply_comes_back_and_close_closes_it() {
    let d = desk();
    let t = d.ticket(&d.c.member, "Баллы <не> пришли", "Купил вчера & ничего");
    assert_eq!(
        (t["status"].as_str(), t["priority"].as_str()),
        (Some("open"), Some("normal"))
    );
    assert_eq!(d.deliver(), 1);
    let sent = d.tg.delivered();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["chat_id"], CHAT);
    assert_eq!(sent[0]["parse_mode"], "HTML");
    let text = sent[0]["text"].as_str().unwrap();
    assert!(text.contains("Баллы &lt;не&gt; пришли"), "{text}");
    assert!(text.contains("Купил вчера &amp; ничего"), "{text}");
    assert!(text.contains("Market A"), "{text}");
    let id = t["id"].as_str().unwrap();
    let keyboard = &sent[0]["reply_markup"]["inline_keyboard"][0];
    assert_eq!(keyboard[0]["callback_data"], format!("take:{id}"));
    assert_eq!(keyboard[1]["callback_data"], format!("close:{id}"));
    assert_eq!(d.count("SELECT tg_message_id FROM support_tickets"), 101);

    d.map_agent(&d.c.staff_a);
    let r = d.update(
        &reply(1, 101, "Здравствуйте! Начислим сегодня."),
        Some(SECRET),
    );
    assert_eq!(
        (r.status, r.json()["status"].as_str()),
        (200, Some("processed"))
    );
    let detail = d
        .get(&d.c.member, &format!("/api/v1/support/tickets/{id}"))
        .json();
    let messages = detail["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["author_role"], "staff");
    assert_eq!(messages[1]["source"], "telegram");
    assert_eq!(messages[1]["author_id"], d.c.staff_a.member_id.as_str());
    assert_eq!(detail["notifications"][0]["message_id"], messages[1]["id"]);
    assert_eq!(detail["status"], "in_progress");

    // The member answers in the app: it goes to the chat under the ticket.
    let r = d.post(
        &d.c.member,
        &format!("/api/v1/support/tickets/{id}/messages"),
        &json!({ "body": "Спасибо" }),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(d.deliver(), 1);
    assert_eq!(d.tg.delivered()[1]["reply_parameters"]["message_id"], 101);

    let r = d.update(&reply(2, 101, "/close"), Some(SECRET));
    assert_eq!(r.json()["status"], "processed");
    let detail = d
        .get(&d.c.member, &format!("/api/v1/support/tickets/{id}"))
        .json();
    assert_eq!(detail["status"], "closed");
    // Updates that are not for us are acknowledged and ignored.
    let r = d.update(&json!({"update_id": 3, "my_chat_member": {}}), Some(SECRET));
    assert_eq!(
        (r.status, r.json()["status"].as_str()),
        (200, Some("ignored"))
    );
    let r = d.update(&json!({"update_id": 4, "message": {"message_id": 1, "chat": {"id": CHAT}, "text": "hello"}}), Some(SECRET));
    assert_eq!(r.json()["status"], "ignored");
}

#[test]
fn the_same_update_delivered_ten_times_at_once_is_one_message() {
    let d = desk();
    let t = d.ticket(&d.c.member, "Race", "one answer please");
    d.deliver();
    d.map_agent(&d.c.staff_a);
    let update = Arc::new(reply(77, 101, "Одно сообщение"));
    let client = d.c.app.client;
    let handles: Vec<_> = (0..10)
        .map(|_| {
            let update = update.clone();
            thread::spawn(move || {
                let r = client
                    .post("/webhooks/telegram")
                    .header("x-telegram-bot-api-secret-token", SECRET)
                    .json(&update)
                    .send();
                assert_eq!(r.status, 200, "{}", r.text());
                r.json()["status"].as_str().unwrap().to_string()
            })
        })
        .collect();
    let statuses: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        statuses.iter().filter(|s| *s == "processed").count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| *s == "duplicate").count(),
        9,
        "{statuses:?}"
    );
    let id = t["id"].as_str().unwrap();
    let detail = d
        .get(&d.c.member, &format!("/api/v1/support/tickets/{id}"))
        .json();
    assert_eq!(detail["messages"].as_array().unwrap().len(), 2);
    assert_eq!(detail["notifications"].as_array().unwrap().len(), 1);
    assert_eq!(d.count("SELECT COUNT(*) FROM support_tg_updates"), 1);
}

#[test]
fn telegram_down_then_flood_control_then_up_delivers_everything_once_in_order() {
    let d = desk();
    let t = d.ticket(&d.c.member, "Outage", "first");
    let id = t["id"].as_str().unwrap().to_string();
    for body in ["second", "third"] {
        let r = d.post(
            &d.c.member,
            &format!("/api/v1/support/tickets/{id}/messages"),
            &json!({ "body": body }),
        );
        assert_eq!(r.status, 201);
    }
    d.tg.then(502, "<html><body>502 Bad Gateway</body></html>");
    assert_eq!(d.deliver(), 0);
    assert_eq!(
        d.count("SELECT attempts FROM support_outbox WHERE seq = 1"),
        1
    );
    d.c.app.host.advance_clock(Duration::from_secs(5));
    d.tg.then(
        429,
        r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 20","parameters":{"retry_after":20}}"#,
    );
    assert_eq!(d.deliver(), 0);
    d.c.app.host.advance_clock(Duration::from_secs(10));
    assert_eq!(d.deliver(), 0, "still within retry_after");
    assert_eq!(d.tg.mock.requests().len(), 2, "nothing sent while waiting");
    d.c.app.host.advance_clock(Duration::from_secs(11));
    assert_eq!(d.deliver(), 3);
    let sent = d.tg.delivered();
    let texts: Vec<&str> = sent.iter().map(|s| s["text"].as_str().unwrap()).collect();
    assert_eq!(texts.len(), 3, "{texts:?}");
    assert!(
        texts[0].contains("first") && texts[1].contains("second") && texts[2].contains("third"),
        "{texts:?}"
    );
    assert_eq!(d.deliver(), 0);
    assert_eq!(
        d.count("SELECT COUNT(*) FROM support_outbox WHERE status = 'sent'"),
        3
    );
    // Admins see the delivery record.
    let r = d.get(&d.c.admin, "/api/v1/admin/support/outbox?status=sent");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 3);
    assert_eq!(
        d.get(&d.c.member, "/api/v1/admin/support/outbox").status,
        403
    );
}

#[test]
fn a_forged_secret_is_401_and_writes_nothing() {
    let d = desk();
    d.ticket(&d.c.member, "Secret", "test");
    d.deliver();
    d.map_agent(&d.c.staff_a);
    let before = d.count("SELECT COUNT(*) FROM support_messages");
    for secret in [
        None,
        Some("wrong"),
        Some("tg-webhook-secret_"),
        Some("tg-webhook-secret_12"),
    ] {
        let r = d.update(&reply(9, 101, "forged"), secret);
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (401, "INVALID_SECRET_TOKEN"),
            "{secret:?}"
        );
    }
    assert_eq!(d.count("SELECT COUNT(*) FROM support_tg_updates"), 0);
    assert_eq!(d.count("SELECT COUNT(*) FROM support_messages"), before);
    // The real secret still works for the same update.
    assert_eq!(
        d.update(&reply(9, 101, "real"), Some(SECRET)).json()["status"],
        "processed"
    );
}

fn buy(d: &Desk, amount: i64, key: &str) -> String {
    let card = d.get(&d.c.member, "/api/v1/wallet").json()["card_number"]
        .as_str()
        .unwrap()
        .to_string();
    let r = d
        .c
        .app
        .client
        .post("/api/v1/pos/purchases")
        .bearer(&d.c.staff_a.access)
        .header("idempotency-key", key)
        .json(&json!({ "member": { "card_number": card }, "amount": amount, "external_id": key }))
        .send();
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["purchase_id"].as_str().unwrap().to_string()
}

#[test]
fn a_dispute_ends_in_compensation_in_the_ledger_once() {
    let d = desk();
    let purchase = buy(&d, 150_000, "order-1");
    let r = d.post(
        &d.c.member,
        "/api/v1/support/disputes",
        &json!({ "purchase_id": purchase, "reason": "Недовес 300 г", "requested": "compensation", "amount": 4_000 }),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let dispute = r.json();
    let id = dispute["id"].as_str().unwrap().to_string();
    assert_eq!(dispute["status"], "open");
    // Another business's staff and the member cannot decide.
    let decide = |who: &Tokens, body: &Value| {
        d.post(
            who,
            &format!("/api/v1/support/disputes/{id}/decision"),
            body,
        )
    };
    let accept = json!({ "decision": "accept", "points": 4_000, "note": "Приносим извинения" });
    assert_eq!(decide(&d.c.staff_b, &accept).status, 404);
    assert_eq!(decide(&d.c.member, &accept).status, 403);
    // Staff of the business decide, eight times at once: one wins.
    let client = d.c.app.client;
    let token = d.c.staff_a.access.clone();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (token, id, accept) = (token.clone(), id.clone(), accept.clone());
            thread::spawn(move || {
                client
                    .post(&format!("/api/v1/support/disputes/{id}/decision"))
                    .bearer(&token)
                    .json(&accept)
                    .send()
            })
        })
        .collect();
    let results: Vec<TestResponse> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| r.status == 200).count(), 1);
    for r in results.iter().filter(|r| r.status != 200) {
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (409, "DISPUTE_ALREADY_DECIDED")
        );
    }
    let ledger = d.get(&d.c.member, "/api/v1/wallet/ledger").json();
    let comp: Vec<&Value> = ledger["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "compensation")
        .collect();
    assert_eq!(comp.len(), 1);
    assert_eq!(comp[0]["amount"], 4_000);
    assert_eq!(
        d.get(&d.c.member, &format!("/api/v1/support/disputes/{id}"))
            .json()["status"],
        "accepted"
    );
    let r = decide(
        &d.c.admin,
        &json!({ "decision": "reject", "note": "again" }),
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (409, "DISPUTE_ALREADY_DECIDED")
    );
    d.c.app.assert_ledger_sound();

    // Beyond the per-order cap: refused, nothing credited.
    let second = d.post(
        &d.c.member,
        "/api/v1/support/disputes",
        &json!({ "purchase_id": purchase, "reason": "Ещё раз", "requested": "compensation" }),
    );
    assert_eq!(second.status, 201, "{}", second.text());
    let id2 = second.json()["id"].as_str().unwrap().to_string();
    let r = d.post(
        &d.c.staff_a,
        &format!("/api/v1/support/disputes/{id2}/decision"),
        &json!({ "decision": "accept", "points": 46_001, "note": "too much" }),
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (422, "COMPENSATION_CAP_EXCEEDED")
    );
    assert_eq!(d.count("SELECT COUNT(*) FROM compensations"), 1);
}

#[test]
fn an_sla_breach_escalates_once_when_the_job_runs_twice_at_once() {
    let d = desk();
    let r = d.post(
        &d.c.member,
        "/api/v1/support/tickets",
        &json!({ "subject": "Срочно", "body": "help", "priority": "high" }),
    );
    assert_eq!(r.status, 201);
    let id = r.json()["id"].as_str().unwrap().to_string();
    d.c.app
        .host
        .advance_clock(Duration::from_secs(4 * 3600 + 1));
    let client = d.c.app.client;
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let token = d.c.app.jobs_token.clone();
            thread::spawn(move || {
                let r = client
                    .post("/internal/jobs/support-escalate")
                    .bearer(&token)
                    .send();
                assert_eq!(r.status, 200, "{}", r.text());
                r.json()["report"]["affected"].as_i64().unwrap()
            })
        })
        .collect();
    let total: i64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(total, 1);
    // Four hours on, the old access tokens have expired: log in again.
    let admin = d.c.app.admin();
    let t = d
        .get(&admin, &format!("/api/v1/support/tickets/{id}"))
        .json();
    assert_eq!(
        (t["priority"].as_str(), t["escalations"].as_i64()),
        (Some("urgent"), Some(1))
    );
    assert_eq!(
        d.count("SELECT COUNT(*) FROM support_outbox WHERE kind = 'escalation'"),
        1
    );
    assert_eq!(d.c.app.run_job("support-escalate")["report"]["affected"], 0);
    d.deliver();
    let sent = d.tg.delivered();
    assert!(
        sent[1]["text"].as_str().unwrap().contains("urgent"),
        "{sent:?}"
    );
}

#[test]
fn tickets_are_visible_to_their_member_their_business_and_admins_in_pages() {
    let d = desk();
    let ids: Vec<String> = (0..3)
        .map(|i| {
            d.ticket(&d.c.member, &format!("T{i}"), "body")["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let page = d.get(&d.c.member, "/api/v1/support/tickets?limit=2").json();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["items"][0]["id"], ids[2].as_str());
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = d
        .get(
            &d.c.member,
            &format!("/api/v1/support/tickets?limit=2&cursor={cursor}"),
        )
        .json();
    assert_eq!(rest["items"][0]["id"], ids[0].as_str());
    assert!(rest["next_cursor"].is_null());
    assert_eq!(
        d.get(&d.c.staff_a, "/api/v1/support/tickets").json()["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        d.get(&d.c.staff_b, "/api/v1/support/tickets").json()["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        d.get(&d.c.admin, "/api/v1/support/tickets?status=open")
            .json()["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // Staff move it on, the member closes and reopens.
    let path = format!("/api/v1/support/tickets/{}", ids[0]);
    let patch = |who: &Tokens, body: Value| {
        d.c.app
            .client
            .patch(&path)
            .bearer(&who.access)
            .json(&body)
            .send()
    };
    assert_eq!(
        patch(&d.c.member, json!({"status": "resolved"})).status,
        403
    );
    assert_eq!(
        patch(&d.c.staff_b, json!({"status": "resolved"})).status,
        404
    );
    assert_eq!(
        patch(&d.c.staff_a, json!({"status": "resolved"})).json()["status"],
        "resolved"
    );
    assert_eq!(
        patch(&d.c.member, json!({"status": "closed"})).json()["status"],
        "closed"
    );
    assert_eq!(
        patch(&d.c.member, json!({"status": "open"})).json()["status"],
        "open"
    );
    let r = patch(&d.c.staff_a, json!({"status": "open"}));
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (409, "INVALID_STATUS_TRANSITION")
    );
}

#[test]
fn faq_is_searched_without_case_and_with_yo_as_ye() {
    let d = desk();
    let r = d.post(&d.c.admin, "/api/v1/admin/faq", &json!({ "question": "Как копить баллы?", "answer": "Покупайте у партнёров клуба", "position": 1 }));
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(
        d.post(
            &d.c.member,
            "/api/v1/admin/faq",
            &json!({ "question": "q", "answer": "a" })
        )
        .status,
        403
    );
    let search = |q: &str| {
        let r = d.c.app.client.get(&format!("/api/v1/faq?q={q}")).send();
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["items"].as_array().unwrap().len()
    };
    assert_eq!(
        search("%D0%9F%D0%90%D0%A0%D0%A2%D0%9D%D0%95%D0%A0%D0%9E%D0%92"),
        1,
        "ПАРТНЕРОВ"
    );
    assert_eq!(search("%D0%B1%D0%B0%D0%BB%D0%BB%D1%8B"), 1, "баллы");
    assert_eq!(search("pizza"), 0);
    let r =
        d.c.app
            .client
            .patch(&format!("/api/v1/admin/faq/{id}"))
            .bearer(&d.c.admin.access)
            .json(&json!({ "answer": "Ёлка" }))
            .send();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(search("%D0%B5%D0%BB%D0%BA%D0%B0"), 1, "елка");
    assert_eq!(
        d.c.app
            .client
            .delete(&format!("/api/v1/admin/faq/{id}"))
            .bearer(&d.c.admin.access)
            .send()
            .status,
        204
    );
    assert_eq!(
        d.c.app
            .client
            .delete(&format!("/api/v1/admin/faq/{id}"))
            .bearer(&d.c.admin.access)
            .send()
            .status,
        404
    );
}

#[test]
fn bad_input_is_refused_with_a_4xx_and_writes_nothing() {
    let d = desk();
    let mine = d.ticket(&d.c.member, "Mine", "body");
    let mine_id = mine["id"].as_str().unwrap().to_string();
    let other = d.c.app.login("+79165550009");
    let theirs = buy(&d, 10_000, "order-x");
    let tables = [
        "support_tickets",
        "support_messages",
        "support_outbox",
        "support_disputes",
        "support_notifications",
    ];
    let snapshot = || {
        tables
            .iter()
            .map(|t| d.count(&format!("SELECT COUNT(*) FROM {t}")))
            .collect::<Vec<_>>()
    };
    let before = snapshot();
    let client = d.c.app.client;
    let check = |r: TestResponse, status: u16, code: &str| {
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (status, code),
            "{}",
            r.text()
        );
    };
    let create = |who: &Tokens, body: Value| d.post(who, "/api/v1/support/tickets", &body);
    check(
        create(&d.c.member, json!({ "subject": "", "body": "x" })),
        422,
        "INVALID_SUBJECT",
    );
    check(
        create(&d.c.member, json!({ "subject": "   ", "body": "x" })),
        422,
        "INVALID_SUBJECT",
    );
    check(
        create(
            &d.c.member,
            json!({ "subject": "s", "body": "x".repeat(100_000) }),
        ),
        422,
        "INVALID_BODY",
    );
    check(
        create(
            &d.c.member,
            json!({ "subject": "s", "body": "x", "priority": "asap" }),
        ),
        422,
        "INVALID_PRIORITY",
    );
    check(
        create(
            &d.c.member,
            json!({ "subject": "s", "body": "x", "colour": "red" }),
        ),
        422,
        "INVALID_FIELD",
    );
    check(
        create(&d.c.member, json!({ "subject": 5, "body": "x" })),
        422,
        "INVALID_FIELD",
    );
    check(
        create(
            &other,
            json!({ "subject": "s", "body": "x", "purchase_id": theirs }),
        ),
        404,
        "PURCHASE_NOT_FOUND",
    );
    check(
        create(
            &d.c.member,
            json!({ "subject": "s", "body": "x", "business_id": "nope" }),
        ),
        422,
        "INVALID_ID",
    );
    check(
        client
            .post("/api/v1/support/tickets")
            .bearer(&d.c.member.access)
            .raw_json("{\"subject\":")
            .send(),
        400,
        "MALFORMED_JSON",
    );
    check(
        client
            .post("/api/v1/support/tickets")
            .json(&json!({ "subject": "s", "body": "x" }))
            .send(),
        401,
        "UNAUTHORIZED",
    );
    // Authorization comes before validation.
    check(
        client
            .post("/api/v1/support/tickets")
            .raw_json("not json")
            .send(),
        401,
        "UNAUTHORIZED",
    );
    check(
        client
            .post("/api/v1/support/tickets")
            .bearer(&d.c.key_a)
            .json(&json!({ "subject": "s", "body": "x" }))
            .send(),
        403,
        "FORBIDDEN",
    );
    let big = format!(
        "{{\"subject\":\"s\",\"body\":\"{}\"}}",
        "x".repeat(1_100_000)
    );
    assert_eq!(
        client
            .post("/api/v1/support/tickets")
            .bearer(&d.c.member.access)
            .raw_json(big)
            .send()
            .status,
        413
    );
    // Another member's ticket.
    let path = format!("/api/v1/support/tickets/{mine_id}");
    check(d.get(&other, &path), 404, "TICKET_NOT_FOUND");
    check(
        d.post(
            &other,
            &format!("{path}/messages"),
            &json!({ "body": "hi" }),
        ),
        404,
        "TICKET_NOT_FOUND",
    );
    check(
        client
            .patch(&path)
            .bearer(&other.access)
            .json(&json!({ "status": "closed" }))
            .send(),
        404,
        "TICKET_NOT_FOUND",
    );
    check(
        d.get(
            &d.c.member,
            "/api/v1/support/tickets/0190a0b0-0000-7000-8000-000000000001",
        ),
        404,
        "TICKET_NOT_FOUND",
    );
    check(
        d.get(&d.c.member, "/api/v1/support/tickets/not-a-uuid"),
        404,
        "TICKET_NOT_FOUND",
    );
    check(
        d.post(
            &d.c.member,
            &format!("{path}/messages"),
            &json!({ "body": "" }),
        ),
        422,
        "INVALID_BODY",
    );
    check(
        client
            .patch(&path)
            .bearer(&d.c.member.access)
            .json(&json!({}))
            .send(),
        422,
        "INVALID_FIELD",
    );
    check(
        d.get(&d.c.member, "/api/v1/support/tickets?limit=500"),
        422,
        "INVALID_LIMIT",
    );
    check(
        d.get(&d.c.member, "/api/v1/support/tickets?status=lost"),
        422,
        "INVALID_STATUS",
    );
    // Disputes on a purchase that is not the member's, or malformed.
    let dispute = |who: &Tokens, body: Value| d.post(who, "/api/v1/support/disputes", &body);
    check(
        dispute(
            &other,
            json!({ "purchase_id": theirs, "reason": "r", "requested": "refund" }),
        ),
        404,
        "PURCHASE_NOT_FOUND",
    );
    check(
        dispute(
            &d.c.member,
            json!({ "purchase_id": theirs, "reason": "r", "requested": "money" }),
        ),
        422,
        "INVALID_REQUESTED",
    );
    check(
        dispute(
            &d.c.member,
            json!({ "purchase_id": theirs, "reason": "", "requested": "redo" }),
        ),
        422,
        "INVALID_REASON",
    );
    check(
        dispute(
            &d.c.member,
            json!({ "purchase_id": theirs, "reason": "r", "requested": "refund", "amount": 10_001 }),
        ),
        422,
        "INVALID_AMOUNT",
    );
    check(
        dispute(
            &d.c.member,
            json!({ "purchase_id": theirs, "reason": "r", "requested": "refund", "amount": 1.5 }),
        ),
        422,
        "INVALID_FIELD",
    );
    // Agents need an admin and a real member.
    check(
        d.post(
            &d.c.staff_a,
            "/api/v1/admin/support/agents",
            &json!({ "member_id": d.c.staff_a.member_id, "telegram_user_id": 1 }),
        ),
        403,
        "FORBIDDEN",
    );
    check(
        d.post(
            &d.c.admin,
            "/api/v1/admin/support/agents",
            &json!({ "member_id": "0190a0b0-0000-7000-8000-000000000001", "telegram_user_id": 1 }),
        ),
        404,
        "MEMBER_NOT_FOUND",
    );
    check(
        d.post(
            &d.c.admin,
            "/api/v1/admin/support/agents",
            &json!({ "member_id": d.c.staff_a.member_id, "telegram_user_id": -5 }),
        ),
        422,
        "INVALID_TELEGRAM_USER_ID",
    );
    assert_eq!(snapshot(), before);
    assert_eq!(d.count("SELECT COUNT(*) FROM support_agents"), 0);
}
