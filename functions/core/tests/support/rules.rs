//! Pure rules: statuses, priorities, SLA, escaping, splitting, commands,
//! FAQ normalisation.

use chrono::{Duration, TimeZone, Utc};
use krug_core::support::{
    faq,
    model::{self, transition, Priority, Status},
    sla::{parse_sla, SupportSettings},
    telegram::{self, Button, Command, SendOutcome},
    webhook::secret_matches,
};

#[test]
fn status_machine_moves_forward_and_reopens_within_seven_days() {
    let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    use Status::*;
    // Staff move forward, skipping steps if they like.
    for (from, to) in [
        (Open, InProgress),
        (Open, Resolved),
        (InProgress, Resolved),
        (Resolved, Closed),
        (Open, Closed),
    ] {
        assert!(
            transition(from, to, true, None, now).is_ok(),
            "{from:?} -> {to:?}"
        );
    }
    // Never backwards except a reopen, never to the same status.
    for (from, to) in [
        (InProgress, InProgress),
        (Resolved, InProgress),
        (Closed, Resolved),
        (InProgress, Open),
        (Open, Open),
    ] {
        let e = transition(from, to, true, None, now).unwrap_err();
        assert_eq!(
            krug_core::error::UseCaseError::code(&e),
            "INVALID_STATUS_TRANSITION",
            "{from:?} -> {to:?}"
        );
    }
    // Members may only close (and reopen).
    assert!(transition(Open, Closed, false, None, now).is_ok());
    assert!(transition(InProgress, Closed, false, None, now).is_ok());
    for to in [InProgress, Resolved] {
        let e = transition(Open, to, false, None, now).unwrap_err();
        assert_eq!(krug_core::error::UseCaseError::code(&e), "FORBIDDEN");
    }
    // Reopen: within 7 days of resolving or closing, not after.
    let settled = now - Duration::days(7);
    assert!(transition(Resolved, Open, false, Some(settled), now).is_ok());
    assert!(transition(Closed, Open, true, Some(settled), now).is_ok());
    let e = transition(
        Closed,
        Open,
        false,
        Some(settled - Duration::seconds(1)),
        now,
    )
    .unwrap_err();
    assert_eq!(
        krug_core::error::UseCaseError::code(&e),
        "REOPEN_WINDOW_PASSED"
    );
}

#[test]
fn priorities_parse_and_rise_to_urgent() {
    assert_eq!(Priority::parse(" HIGH ").unwrap(), Priority::High);
    assert!(Priority::parse("critical").is_none());
    assert_eq!(Priority::Low.raised(), Priority::Normal);
    assert_eq!(Priority::Normal.raised(), Priority::High);
    assert_eq!(Priority::High.raised(), Priority::Urgent);
    assert_eq!(Priority::Urgent.raised(), Priority::Urgent);
}

#[test]
fn sla_deadlines_per_priority() {
    let s = SupportSettings::default();
    let t = Utc.with_ymd_and_hms(2026, 3, 1, 23, 30, 0).unwrap();
    assert_eq!(s.due(Priority::Urgent, t), t + Duration::hours(1));
    assert_eq!(s.due(Priority::High, t), t + Duration::hours(4));
    assert_eq!(
        s.due(Priority::Normal, t),
        Utc.with_ymd_and_hms(2026, 3, 2, 23, 30, 0).unwrap()
    );
    assert_eq!(s.due(Priority::Low, t), t + Duration::days(3));
    let custom = parse_sla("urgent=15, normal=120").unwrap();
    assert_eq!(custom, [4320, 120, 240, 15]);
    for bad in ["urgent", "urgent=0", "soon=5", "high=x", "low=999999"] {
        assert!(parse_sla(bad).is_err(), "{bad}");
    }
}

#[test]
fn text_limits() {
    assert_eq!(
        model::subject("  Где мои баллы?  ").unwrap(),
        "Где мои баллы?"
    );
    assert_eq!(model::subject("").unwrap_err().code, "INVALID_SUBJECT");
    assert!(model::subject("a\nb").is_err());
    assert!(model::subject(&"я".repeat(201)).is_err());
    assert_eq!(model::body("line 1\r\nline 2").unwrap(), "line 1\nline 2");
    assert_eq!(
        model::body(&"x".repeat(100_000)).unwrap_err().code,
        "INVALID_BODY"
    );
    assert!(model::body("bell\u{7}").is_err());
    assert!(model::body(&"x".repeat(10_000)).is_ok());
}

#[test]
fn member_text_is_escaped_for_html() {
    assert_eq!(
        telegram::escape_html(r#"<b>5 & 6</b> "x""#),
        "&lt;b&gt;5 &amp; 6&lt;/b&gt; &quot;x&quot;"
    );
    assert_eq!(telegram::escape_html("Привет 👋"), "Привет 👋");
    assert_eq!(telegram::visible_len("<b>a&amp;b</b>"), 3);
    // An emoji is two UTF-16 units, as Telegram counts.
    assert_eq!(telegram::visible_len("👋"), 2);
}

#[test]
fn long_texts_split_at_the_limit_and_lose_nothing() {
    let body: String = (0..3000).map(|i| format!("слово{} <&> ", i % 10)).collect();
    let header = "<b>Ticket</b> <code>abc</code>";
    let parts = telegram::render(header, &body);
    assert!(parts.len() > 1);
    for p in &parts {
        assert!(
            telegram::visible_len(p) <= telegram::MAX_MESSAGE,
            "{}",
            telegram::visible_len(p)
        );
    }
    assert!(parts[0].starts_with(header));
    // Unescaping the parts gives the body back.
    let mut back = String::new();
    for (i, p) in parts.iter().enumerate() {
        let text = if i == 0 {
            p.strip_prefix(&format!("{header}\n\n")).unwrap()
        } else {
            p.strip_prefix("(continued)\n").unwrap()
        };
        back.push_str(
            &text
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&amp;", "&"),
        );
    }
    assert_eq!(back, body);
    // Splitting never cuts inside a character and prefers spaces.
    let pieces = telegram::split_plain(&"аб ".repeat(3000), 4096);
    assert!(pieces.iter().all(|p| p.encode_utf16().count() <= 4096));
    assert!(pieces[0].ends_with(' '));
    let emoji = telegram::split_plain(&"👋".repeat(3000), 4096);
    assert_eq!(emoji[0].encode_utf16().count(), 4096);
    assert_eq!(emoji.concat(), "👋".repeat(3000));
    assert_eq!(telegram::render("h", "short").len(), 1);
}

#[test]
fn send_message_body_has_telegrams_shape() {
    let b = telegram::send_message_body(
        "-1001234567890",
        "hi",
        Some("0190a0b0-0000-7000-8000-000000000001"),
        Some(42),
    );
    assert_eq!(b["chat_id"], -1001234567890_i64);
    assert_eq!(b["parse_mode"], "HTML");
    assert_eq!(b["text"], "hi");
    let row = &b["reply_markup"]["inline_keyboard"][0];
    assert_eq!(
        row[0]["callback_data"],
        "take:0190a0b0-0000-7000-8000-000000000001"
    );
    assert_eq!(
        row[1]["callback_data"],
        "close:0190a0b0-0000-7000-8000-000000000001"
    );
    assert!(row[1]["callback_data"].as_str().unwrap().len() <= 64);
    assert_eq!(b["reply_parameters"]["message_id"], 42);
    let plain = telegram::send_message_body("@krug_support", "x", None, None);
    assert_eq!(plain["chat_id"], "@krug_support");
    assert!(plain.get("reply_markup").is_none());
}

#[test]
fn telegram_answers_are_read() {
    assert_eq!(
        telegram::parse_send_response(
            200,
            br#"{"ok":true,"result":{"message_id":77,"chat":{"id":-1}}}"#
        ),
        SendOutcome::Sent { message_id: 77 }
    );
    assert_eq!(
        telegram::parse_send_response(
            429,
            br#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#
        ),
        SendOutcome::RetryAfter(7)
    );
    assert!(matches!(
        telegram::parse_send_response(502, b"<html>bad gateway</html>"),
        SendOutcome::Failed(_)
    ));
    assert!(matches!(
        telegram::parse_send_response(200, br#"{"ok":true}"#),
        SendOutcome::Failed(_)
    ));
    assert_eq!(telegram::backoff_secs(1), 5);
    assert_eq!(telegram::backoff_secs(2), 10);
    assert_eq!(telegram::backoff_secs(4), 40);
    assert_eq!(telegram::backoff_secs(30), 3600);
}

#[test]
fn commands_and_buttons_parse() {
    assert_eq!(telegram::parse_command("/close"), Some(Command::Close));
    assert_eq!(
        telegram::parse_command("/close@KrugSupportBot"),
        Some(Command::Close)
    );
    assert_eq!(
        telegram::parse_command("/assign +7 999 123-45-67"),
        Some(Command::Assign("+7 999 123-45-67".into()))
    );
    assert_eq!(
        telegram::parse_command("/priority urgent"),
        Some(Command::Priority(Some(Priority::Urgent)))
    );
    assert_eq!(
        telegram::parse_command("/priority asap"),
        Some(Command::Priority(None))
    );
    assert_eq!(telegram::parse_command("/start"), Some(Command::Unknown));
    assert_eq!(telegram::parse_command("Здравствуйте, смотрим"), None);
    let id = "0190a0b0-0000-7000-8000-000000000001";
    assert_eq!(
        Button::parse(&format!("take:{id}")),
        Some(Button::Take(id.into()))
    );
    assert_eq!(Button::parse("close:nope"), None);
    assert_eq!(
        Button::parse("drop:0190a0b0-0000-7000-8000-000000000001"),
        None
    );
}

#[test]
fn webhook_secret_is_compared_whole() {
    assert!(secret_matches("s3cret", Some("s3cret")));
    assert!(!secret_matches("s3cret", Some("s3cre")));
    assert!(!secret_matches("s3cret", Some("s3cret ")));
    assert!(!secret_matches("s3cret", None));
    assert!(!secret_matches("", Some("")));
}

#[test]
fn faq_search_folds_case_and_yo() {
    assert_eq!(faq::normalize("  ЁЛКА  Ёжик\tЕль "), "елка ежик ель");
    assert_eq!(faq::normalize("Как ПОЛУЧИТЬ баллы?"), "как получить баллы?");
    assert_eq!(faq::query_terms("100% ё_ж"), vec!["%100\\%%", "%е\\_ж%"]);
    assert!(faq::query_terms("   ").is_empty());
}
