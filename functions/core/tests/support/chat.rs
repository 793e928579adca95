//! The Telegram side against SQLite: delivery through an outage, flood
//! control, order per ticket, giving up; webhook updates with exactly one
//! effect each.

use std::{collections::VecDeque, sync::Arc, sync::Mutex};

use chrono::Duration;
use krug_core::{
    jobs::JobEnv,
    native::{MapVariables, MemoryKv, NativeSql, SeqRandom},
    params,
    ports::{Http, HttpError, OutboundRequest, OutboundResponse, Sql as _},
    support::{
        delivery,
        jobs::map_agent,
        tickets::{self, TicketEnv},
        webhook::{self, WebhookEnv},
        Status, SupportSettings,
    },
};
use serde_json::{json, Value};

use crate::fixtures::World;
use crate::tickets::{admin, member, new_ticket};

const CHAT: &str = "-1001234";

#[derive(Default)]
struct FakeTelegram {
    script: Mutex<VecDeque<Result<(u16, String), HttpError>>>,
    sent: Mutex<Vec<Value>>,
    next_id: Mutex<i64>,
}

impl FakeTelegram {
    fn then(&self, r: Result<(u16, &str), HttpError>) {
        self.script
            .lock()
            .unwrap()
            .push_back(r.map(|(s, b)| (s, b.to_string())));
    }
    fn delivered(&self) -> Vec<Value> {
        self.sent.lock().unwrap().clone()
    }
}

impl Http for FakeTelegram {
    fn send(&self, req: OutboundRequest) -> Result<OutboundResponse, HttpError> {
        assert_eq!(req.url, "http://tg.test/botTOKEN/sendMessage");
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        let scripted = self.script.lock().unwrap().pop_front();
        let (status, reply) = match scripted.filter(|r| !matches!(r, Ok((0, _)))) {
            Some(r) => r?,
            None => {
                let mut n = self.next_id.lock().unwrap();
                *n += 1;
                (200, json!({"ok": true, "result": {"message_id": 1000 + *n, "chat": {"id": -1001234}}}).to_string())
            }
        };
        if status == 200 {
            self.sent.lock().unwrap().push(body);
        }
        Ok(OutboundResponse {
            status,
            headers: vec![],
            body: reply.into_bytes(),
        })
    }
}

fn vars() -> MapVariables {
    MapVariables(
        [
            ("telegram_api_url", "http://tg.test"),
            ("telegram_bot_token", "TOKEN"),
            ("telegram_chat_id", CHAT),
            ("telegram_max_attempts", "3"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    )
}

fn deliver(w: &World, tg: &FakeTelegram) -> u64 {
    let v = vars();
    let kv = MemoryKv::default();
    delivery::deliver(
        &JobEnv {
            sql: &w.sql,
            kv: &kv,
            clock: &w.clock,
            random: &w.random,
            variables: &v,
        },
        tg,
    )
    .unwrap()
    .affected
}

fn settings() -> SupportSettings {
    SupportSettings::from_variables(&vars()).unwrap()
}

#[test]
fn outage_then_flood_control_then_recovery_delivers_once_in_order() {
    let w = World::new();
    let s = settings();
    let m = w.member();
    let e = TicketEnv {
        sql: &w.sql,
        clock: &w.clock,
        random: &w.random,
        settings: &s,
    };
    let t = tickets::create(&e, &member(&m.id), &new_ticket("first", None)).unwrap();
    tickets::add_message(&e, &member(&m.id), &t.id, "second").unwrap();
    tickets::add_message(&e, &member(&m.id), &t.id, "third").unwrap();
    let tg = FakeTelegram::default();
    tg.then(Ok((502, "<html>Bad Gateway</html>")));
    assert_eq!(deliver(&w, &tg), 0);
    // Not due yet: nothing is tried.
    assert_eq!(deliver(&w, &tg), 0);
    w.advance(Duration::seconds(5));
    tg.then(Ok((429, r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 30","parameters":{"retry_after":30}}"#)));
    assert_eq!(deliver(&w, &tg), 0);
    w.advance(Duration::seconds(29));
    assert_eq!(deliver(&w, &tg), 0, "retry_after is honoured");
    w.advance(Duration::seconds(1));
    assert_eq!(deliver(&w, &tg), 3);
    let sent = tg.delivered();
    assert_eq!(sent.len(), 3);
    assert!(sent[0]["text"].as_str().unwrap().contains("first"));
    assert!(sent[1]["text"].as_str().unwrap().contains("second"));
    assert!(sent[2]["text"].as_str().unwrap().contains("third"));
    assert_eq!(sent[0]["chat_id"], -1001234_i64);
    assert!(sent[0]["reply_markup"]["inline_keyboard"].is_array());
    // Later messages thread under the ticket's first message.
    assert_eq!(sent[1]["reply_parameters"]["message_id"], 1001);
    assert_eq!(deliver(&w, &tg), 0);
    assert_eq!(
        w.count("SELECT COUNT(*) FROM support_outbox WHERE status = 'sent'"),
        3
    );
    assert_eq!(w.count("SELECT tg_message_id FROM support_tickets"), 1001);
    assert_eq!(w.count("SELECT COUNT(*) FROM support_tg_messages"), 3);
}

#[test]
fn a_message_fails_after_the_limit_and_the_next_goes_on() {
    let w = World::new();
    let s = settings();
    let m = w.member();
    let e = TicketEnv {
        sql: &w.sql,
        clock: &w.clock,
        random: &w.random,
        settings: &s,
    };
    let t = tickets::create(&e, &member(&m.id), &new_ticket("doomed", None)).unwrap();
    tickets::add_message(&e, &member(&m.id), &t.id, "after").unwrap();
    let tg = FakeTelegram::default();
    for _ in 0..3 {
        tg.then(Err(HttpError::Failed("timeout".into())));
    }
    for _ in 0..3 {
        deliver(&w, &tg);
        w.advance(Duration::minutes(1));
    }
    assert_eq!(
        w.count("SELECT COUNT(*) FROM support_outbox WHERE status = 'failed' AND attempts = 3"),
        1
    );
    assert_eq!(deliver(&w, &tg), 1);
    assert!(tg.delivered()[0]["text"]
        .as_str()
        .unwrap()
        .contains("after"));
}

#[test]
fn long_messages_go_out_in_parts_and_resume_after_a_failure() {
    let w = World::new();
    let s = settings();
    let m = w.member();
    let e = TicketEnv {
        sql: &w.sql,
        clock: &w.clock,
        random: &w.random,
        settings: &s,
    };
    let t = tickets::create(&e, &member(&m.id), &new_ticket("long", None)).unwrap();
    let long = "длинный текст ".repeat(700);
    tickets::add_message(&e, &member(&m.id), &t.id, &long).unwrap();
    let tg = FakeTelegram::default();
    // The ticket and the long message's first part go; the second fails.
    tg.then(Ok((0, "")));
    tg.then(Ok((0, "")));
    tg.then(Ok((
        503,
        r#"{"ok":false,"error_code":503,"description":"Service Unavailable"}"#,
    )));
    assert_eq!(deliver(&w, &tg), 1);
    assert_eq!(tg.delivered().len(), 2);
    w.advance(Duration::seconds(5));
    assert_eq!(deliver(&w, &tg), 1);
    let sent = tg.delivered();
    assert_eq!(sent.len(), 4, "three parts, none twice");
    assert!(sent[2]["text"].as_str().unwrap().starts_with("(continued)"));
    let mut text = String::new();
    for (i, p) in sent[1..].iter().enumerate() {
        let t = p["text"].as_str().unwrap();
        assert!(krug_core::support::telegram::visible_len(t) <= 4096);
        let t = if i == 0 {
            t.split_once("\n\n").unwrap().1
        } else {
            t.strip_prefix("(continued)\n").unwrap()
        };
        text.push_str(t);
    }
    assert_eq!(text, long.trim());
    assert_eq!(w.count("SELECT COUNT(*) FROM support_tg_messages"), 4);
}

struct Chat {
    w: World,
    s: SupportSettings,
    ticket: String,
    agent: String,
}

fn chat() -> Chat {
    let w = World::new();
    let s = settings();
    let m = w.member();
    let agent = w.member();
    let t = tickets::create(
        &TicketEnv {
            sql: &w.sql,
            clock: &w.clock,
            random: &w.random,
            settings: &s,
        },
        &member(&m.id),
        &new_ticket("from the app", None),
    )
    .unwrap();
    deliver(&w, &FakeTelegram::default());
    map_agent(&w.sql, &w.clock, &agent.id, 555).unwrap();
    Chat {
        w,
        s,
        ticket: t.id,
        agent: agent.id,
    }
}

impl Chat {
    fn post(&self, update: &Value) -> &'static str {
        webhook::handle(
            &WebhookEnv {
                sql: &self.w.sql,
                clock: &self.w.clock,
                random: &self.w.random,
                settings: &self.s,
            },
            update.to_string().as_bytes(),
        )
        .unwrap()
        .status
    }
}

fn reply(update_id: i64, from: i64, text: &str) -> Value {
    json!({
        "update_id": update_id,
        "message": {
            "message_id": 9000 + update_id,
            "from": {"id": from, "is_bot": false, "first_name": "Agent"},
            "chat": {"id": -1001234, "type": "supergroup"},
            "date": 1_700_000_000,
            "text": text,
            "reply_to_message": {"message_id": 1001, "chat": {"id": -1001234, "type": "supergroup"}, "date": 1_700_000_000}
        }
    })
}

#[test]
fn a_reply_becomes_one_staff_message_however_often_it_arrives() {
    let c = chat();
    assert_eq!(
        c.post(&reply(1, 555, "Здравствуйте! Разбираемся.")),
        "processed"
    );
    assert_eq!(
        c.post(&reply(1, 555, "Здравствуйте! Разбираемся.")),
        "duplicate"
    );
    let d = tickets::get(&c.w.sql, &admin(), &c.ticket).unwrap();
    let staff: Vec<_> = d
        .messages
        .iter()
        .filter(|m| m.source == "telegram")
        .collect();
    assert_eq!(staff.len(), 1);
    assert_eq!(staff[0].author_id.as_deref(), Some(c.agent.as_str()));
    assert_eq!(d.notifications.len(), 1);
    assert_eq!(d.ticket.status, Status::InProgress);
    assert!(d.ticket.first_response_at.is_some());
    // Nothing is echoed back to the chat.
    assert_eq!(c.w.count("SELECT COUNT(*) FROM support_outbox"), 1);
    // Unknown agents, other chats, unrelated messages: acknowledged, ignored.
    assert_eq!(c.post(&reply(2, 777, "spam")), "ignored");
    let mut other = reply(3, 555, "hi");
    other["message"]["chat"]["id"] = json!(42);
    assert_eq!(c.post(&other), "ignored");
    assert_eq!(
        c.post(&json!({"update_id": 4, "edited_message": {}})),
        "ignored"
    );
    assert_eq!(c.post(&json!({"no": "update"})), "ignored");
    assert_eq!(
        c.w.count("SELECT COUNT(*) FROM support_messages WHERE source = 'telegram'"),
        1
    );
}

#[test]
fn racing_deliveries_of_one_update_have_one_effect() {
    let dir = tempfile::tempdir().unwrap();
    let path = Arc::new(dir.path().join("db"));
    let w = World::file(&path);
    let s = settings();
    let m = w.member();
    let agent = w.member();
    let t = tickets::create(
        &TicketEnv {
            sql: &w.sql,
            clock: &w.clock,
            random: &w.random,
            settings: &s,
        },
        &member(&m.id),
        &new_ticket("race", None),
    )
    .unwrap();
    deliver(&w, &FakeTelegram::default());
    map_agent(&w.sql, &w.clock, &agent.id, 555).unwrap();
    let handles: Vec<_> = (0..10)
        .map(|i| {
            let path = path.clone();
            let s = s.clone();
            std::thread::spawn(move || {
                let sql = NativeSql::open(&path).unwrap();
                let random = SeqRandom::new(50 + i);
                webhook::handle(
                    &WebhookEnv {
                        sql: &sql,
                        clock: &krug_core::native::SystemClock,
                        random: &random,
                        settings: &s,
                    },
                    reply(77, 555, "один ответ").to_string().as_bytes(),
                )
                .unwrap()
                .status
            })
        })
        .collect();
    let statuses: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == "processed").count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == "duplicate").count(), 9);
    let n = w.sql.execute(
        "SELECT COUNT(*) AS n FROM support_messages WHERE ticket_id = ? AND source = 'telegram'",
        &params![t.id.as_str()],
    );
    assert_eq!(n.unwrap().first().unwrap().i64("n").unwrap(), 1);
}

#[test]
fn commands_and_buttons_act_on_the_ticket() {
    let c = chat();
    assert_eq!(c.post(&reply(10, 555, "/priority urgent")), "processed");
    assert_eq!(
        tickets::load(&c.w.sql, &c.ticket)
            .unwrap()
            .unwrap()
            .priority
            .as_str(),
        "urgent"
    );
    assert_eq!(c.post(&reply(11, 555, "/priority whenever")), "rejected");
    assert_eq!(c.post(&reply(12, 555, "/assign +7 000")), "rejected");
    let phone =
        c.w.sql
            .execute(
                "SELECT phone FROM members WHERE id = ?",
                &params![c.agent.as_str()],
            )
            .unwrap()
            .first()
            .unwrap()
            .text("phone")
            .unwrap();
    assert_eq!(
        c.post(&reply(13, 555, &format!("/assign {phone}"))),
        "processed"
    );
    assert_eq!(
        tickets::load(&c.w.sql, &c.ticket)
            .unwrap()
            .unwrap()
            .assignee_id
            .as_deref(),
        Some(c.agent.as_str())
    );
    let button = |id: i64, verb: &str| {
        json!({
            "update_id": id,
            "callback_query": {
                "id": "cb1", "from": {"id": 555, "is_bot": false, "first_name": "A"},
                "message": {"message_id": 1001, "chat": {"id": -1001234, "type": "supergroup"}, "date": 1},
                "chat_instance": "x", "data": format!("{verb}:{}", c.ticket)
            }
        })
    };
    assert_eq!(c.post(&button(14, "take")), "processed");
    assert_eq!(c.post(&reply(15, 555, "/close")), "processed");
    assert_eq!(
        tickets::load(&c.w.sql, &c.ticket).unwrap().unwrap().status,
        Status::Closed
    );
    // Closed: a second close and a reply are rejected, nothing written.
    assert_eq!(c.post(&button(16, "close")), "rejected");
    assert_eq!(c.post(&reply(17, 555, "late")), "rejected");
    assert_eq!(
        c.w.count("SELECT COUNT(*) FROM support_messages WHERE source = 'telegram'"),
        0
    );
    assert_eq!(c.w.count("SELECT COUNT(*) FROM support_tg_updates"), 8);
}
