//! The Telegram Bot API as the support chat uses it, as pure functions:
//! HTML escaping of member text, splitting at the 4 096-character limit,
//! the `sendMessage` request body with its inline keyboard, reading the
//! answer (message id, `retry_after`), and parsing commands and button
//! data from updates.

use serde_json::{json, Value};

use super::model::Priority;

/// Telegram's limit on a message's text after entity parsing.
pub const MAX_MESSAGE: usize = 4096;

/// Escapes text for `parse_mode: "HTML"`: `&`, `<`, `>` and `"` become
/// entities, nothing else is touched.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// The length Telegram counts for an HTML text: tags do not count, an
/// entity counts as one character, characters count in UTF-16 code units.
pub fn visible_len(html: &str) -> usize {
    let mut n = 0;
    let mut chars = html.chars();
    while let Some(c) = chars.next() {
        match c {
            '<' => {
                for t in chars.by_ref() {
                    if t == '>' {
                        break;
                    }
                }
            }
            '&' => {
                for t in chars.by_ref() {
                    if t == ';' {
                        break;
                    }
                }
                n += 1;
            }
            _ => n += c.len_utf16(),
        }
    }
    n
}

/// Splits plain text into pieces of at most `max` UTF-16 units, breaking
/// after a newline or space in the last fifth of a piece when there is one.
/// Concatenating the pieces gives the text back.
pub fn split_plain(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        // Byte offset where `max` units end.
        let mut units = 0;
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            if units + c.len_utf16() > max {
                end = i;
                break;
            }
            units += c.len_utf16();
        }
        if end < rest.len() {
            let window = &rest[..end];
            let floor = window.len() * 4 / 5;
            if let Some(pos) = window.rfind(['\n', ' ']).filter(|&p| p >= floor && p > 0) {
                end = pos + 1;
            }
        }
        pieces.push(rest[..end].to_string());
        rest = &rest[end..];
    }
    pieces
}

/// Renders a message as HTML parts of at most [`MAX_MESSAGE`] visible
/// characters: `header_html` (already escaped) opens the first part, the
/// member-written `body` is escaped and continues over as many parts as it
/// needs; later parts start with `(continued)`.
pub fn render(header_html: &str, body: &str) -> Vec<String> {
    const CONT: &str = "(continued)\n";
    let head_len = visible_len(header_html) + 2;
    let first_budget = MAX_MESSAGE.saturating_sub(head_len).max(1);
    let later_budget = MAX_MESSAGE - CONT.len();
    let mut parts = Vec::new();
    if body.is_empty() {
        parts.push(header_html.to_string());
        return parts;
    }
    let mut rest = body;
    let first = split_plain(rest, first_budget)
        .into_iter()
        .next()
        .unwrap_or_default();
    rest = &rest[first.len()..];
    parts.push(format!("{header_html}\n\n{}", escape_html(&first)));
    for piece in split_plain(rest, later_budget) {
        parts.push(format!("{CONT}{}", escape_html(&piece)));
    }
    parts
}

/// What an inline button asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Button {
    /// Take the ticket: assign it to the agent, in progress.
    Take(String),
    /// Close the ticket.
    Close(String),
}

impl Button {
    /// The `callback_data` (≤ 64 bytes: a verb and a UUID).
    pub fn data(&self) -> String {
        match self {
            Button::Take(id) => format!("take:{id}"),
            Button::Close(id) => format!("close:{id}"),
        }
    }

    /// Parses `callback_data`.
    pub fn parse(data: &str) -> Option<Self> {
        let (verb, id) = data.split_once(':')?;
        let id = crate::types::Id::parse(id, "callback_data").ok()?.to_text();
        match verb {
            "take" => Some(Button::Take(id)),
            "close" => Some(Button::Close(id)),
            _ => None,
        }
    }
}

/// The `chat_id` value: an integer when the setting is one, else the
/// `@channelusername` string.
pub fn chat_id_value(chat_id: &str) -> Value {
    chat_id
        .trim()
        .parse::<i64>()
        .map_or_else(|_| Value::String(chat_id.trim().to_string()), Value::from)
}

/// The JSON body of `sendMessage`.
pub fn send_message_body(
    chat_id: &str,
    text: &str,
    buttons_for: Option<&str>,
    reply_to: Option<i64>,
) -> Value {
    let mut body = json!({
        "chat_id": chat_id_value(chat_id),
        "text": text,
        "parse_mode": "HTML",
        "link_preview_options": { "is_disabled": true },
    });
    if let Some(ticket_id) = buttons_for {
        body["reply_markup"] = json!({
            "inline_keyboard": [[
                { "text": "Take", "callback_data": Button::Take(ticket_id.into()).data() },
                { "text": "Close", "callback_data": Button::Close(ticket_id.into()).data() },
            ]]
        });
    }
    if let Some(id) = reply_to {
        body["reply_parameters"] = json!({ "message_id": id, "allow_sending_without_reply": true });
    }
    body
}

/// How a `sendMessage` call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Delivered; Telegram's id of the message.
    Sent {
        /// `result.message_id`.
        message_id: i64,
    },
    /// 429: flood control; try again after this many seconds.
    RetryAfter(i64),
    /// Anything else: retry later with backoff; the text is for the log.
    Failed(String),
}

/// Reads Telegram's answer: `{"ok": true, "result": {"message_id": N}}`, or
/// `{"ok": false, "error_code": 429, "parameters": {"retry_after": N}}`.
pub fn parse_send_response(status: u16, body: &[u8]) -> SendOutcome {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if status == 200 && v["ok"] == true {
        if let Some(id) = v["result"]["message_id"].as_i64() {
            return SendOutcome::Sent { message_id: id };
        }
        return SendOutcome::Failed("answer without result.message_id".into());
    }
    if status == 429 || v["error_code"] == 429 {
        let secs = v["parameters"]["retry_after"].as_i64().unwrap_or(5);
        return SendOutcome::RetryAfter(secs.clamp(1, 3600));
    }
    let description = v["description"].as_str().unwrap_or("");
    SendOutcome::Failed(format!("HTTP {status} {description}").trim().to_string())
}

/// Seconds to wait before attempt `attempts + 1` after `attempts` failures:
/// 5 s doubling, at most an hour.
pub fn backoff_secs(attempts: i64) -> i64 {
    let exp = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    (5_i64 << exp).min(3600)
}

/// A command an agent writes as a reply to a ticket's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/close`.
    Close,
    /// `/assign <phone>`.
    Assign(String),
    /// `/priority <p>`.
    Priority(Option<Priority>),
    /// Any other `/word`.
    Unknown,
}

/// Parses a reply's text as a command (`/close@SupportBot` too); `None`
/// when it is not one (an ordinary reply).
pub fn parse_command(text: &str) -> Option<Command> {
    let text = text.trim();
    let rest = text.strip_prefix('/')?;
    let (word, arg) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let word = word.split('@').next().unwrap_or("").to_ascii_lowercase();
    let arg = arg.trim();
    Some(match word.as_str() {
        "close" => Command::Close,
        "assign" => Command::Assign(arg.to_string()),
        "priority" => Command::Priority(Priority::parse(arg)),
        _ => Command::Unknown,
    })
}
