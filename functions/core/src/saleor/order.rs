//! Order events (`order_paid`, `order_fully_refunded`) mapped to a neutral
//! struct. The expected body is described in the module docs of
//! [`crate::saleor`].

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::amount::number_to_kopecks;
use super::SaleorError;
use crate::auth::members::parse_referral_code;
use crate::types::Kopecks;

/// Most order lines accepted in one payload.
pub const MAX_LINES: usize = 500;
/// Longest order id accepted (Saleor's are base64 global ids of ~50 chars).
const MAX_ID_LEN: usize = 128;
/// Longest order number, SKU, e-mail, phone, product name accepted.
const MAX_NUMBER_LEN: usize = 64;
const MAX_SKU_LEN: usize = 255;
const MAX_EMAIL_LEN: usize = 254;
const MAX_PHONE_LEN: usize = 32;
const MAX_NAME_LEN: usize = 500;
/// Largest line quantity accepted.
const MAX_QUANTITY: i64 = 1_000_000;
/// Most metadata entries looked at.
const MAX_METADATA: usize = 200;

/// The order events Krug handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderEvent {
    /// `order_paid`: a payment has been made for the order.
    Paid,
    /// `order_fully_refunded`: the order has been refunded in full.
    FullyRefunded,
}

impl OrderEvent {
    /// The `Saleor-Event` header value: `order_paid` / `order_fully_refunded`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Paid => "order_paid",
            Self::FullyRefunded => "order_fully_refunded",
        }
    }

    /// The event for a `Saleor-Event` value (ASCII case and surrounding
    /// spaces ignored), or `None` for events Krug does not handle.
    pub fn from_header(value: &str) -> Option<Self> {
        let value = value.trim();
        [Self::Paid, Self::FullyRefunded]
            .into_iter()
            .find(|e| value.eq_ignore_ascii_case(e.as_str()))
    }
}

/// One order line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleorLine {
    /// `productSku`, when the variant has one.
    pub sku: Option<String>,
    /// `productName`.
    pub name: String,
    /// `quantity`, 1 to 1 000 000.
    pub quantity: u32,
    /// `unitPrice.gross.amount` in kopecks.
    pub unit_price: Kopecks,
}

/// A Saleor order as an order event reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleorOrder {
    /// Which event reported it.
    pub event: OrderEvent,
    /// Saleor's global order id (`id`), e.g. `T3JkZXI6...`.
    pub order_id: String,
    /// The human order number (`number`), when present.
    pub number: Option<String>,
    /// When the order was placed (`created`), when present.
    pub created: Option<DateTime<Utc>>,
    /// The customer's e-mail, trimmed and lower-cased: `userEmail`, else
    /// `user.email`.
    pub email: Option<String>,
    /// `billingAddress.phone` as Saleor stores it (trimmed, not normalised).
    pub phone: Option<String>,
    /// `total.gross.amount` in kopecks (the currency is always RUB). For
    /// `order_fully_refunded` this is still the order's total.
    pub total: Kopecks,
    /// The referral code in metadata key `ref_code`, upper-cased, when it is
    /// a valid code (8 letters and digits of the referral alphabet);
    /// an invalid value is `None`.
    pub ref_code: Option<String>,
    /// The order lines.
    pub lines: Vec<SaleorLine>,
    /// `chargeStatus` as Saleor names it (`NONE`, `PARTIAL`, `FULL`,
    /// `OVERCHARGED`), when the query selects it. Saleor documents
    /// `order_paid` as "the order may be partially or fully paid": a rule
    /// that rewards only paid-in-full orders checks for `FULL`/`OVERCHARGED`.
    pub charge_status: Option<String>,
    /// A key to settle this event exactly once: `saleor:<event>:<order id>`.
    ///
    /// Saleor sends no event id header, and the body depends on the query,
    /// so the key is derived from what identifies the business fact, an
    /// event about an order. Saleor's redeliveries of a failed webhook carry
    /// the same event and order and so map to the same key. A second
    /// `order_paid` for the same order (a further partial payment) maps to
    /// the same key too and is deliberately a duplicate: the first report
    /// settles the order once. The refund has its own key, so a refund is
    /// never mistaken for a redelivered payment.
    pub idempotency_key: String,
}

/// Maps a verified webhook body to an order for the events Krug handles.
///
/// `event_name` is the `Saleor-Event` header. Events other than
/// `order_paid` and `order_fully_refunded` are `Ok(None)` (acknowledge and
/// ignore). For those two the body must be a JSON object with an `order`
/// object as described in the module docs; otherwise
/// [`SaleorError::InvalidPayload`] names the member at fault, and an order
/// not in RUB is [`SaleorError::UnsupportedCurrency`].
pub fn parse_order_event(
    event_name: &str,
    body: &[u8],
) -> Result<Option<SaleorOrder>, SaleorError> {
    let Some(event) = OrderEvent::from_header(event_name) else {
        return Ok(None);
    };
    let root: Map<String, Value> = match serde_json::from_slice(body) {
        Ok(Value::Object(root)) => root,
        Ok(_) => return Err(SaleorError::payload("$", "must be a JSON object")),
        Err(_) => return Err(SaleorError::payload("$", "malformed JSON")),
    };
    let order = match root.get("order") {
        Some(Value::Object(order)) => order,
        Some(Value::Null) | None if root.contains_key("errors") => {
            return Err(SaleorError::payload(
                "order",
                "missing; the subscription query reported errors",
            ))
        }
        Some(Value::Null) | None => return Err(SaleorError::payload("order", "required")),
        Some(_) => return Err(SaleorError::payload("order", "must be an object")),
    };

    let order_id = match order.get("id") {
        Some(Value::String(id))
            if !id.is_empty() && id.len() <= MAX_ID_LEN && !id.chars().any(char::is_control) =>
        {
            id.clone()
        }
        Some(Value::String(_)) => {
            return Err(SaleorError::payload(
                "order.id",
                "must be 1 to 128 printable characters",
            ))
        }
        _ => return Err(SaleorError::payload("order.id", "required string")),
    };
    let number = match order.get("number") {
        None | Some(Value::Null) => None,
        Some(Value::String(n)) if n.len() <= MAX_NUMBER_LEN => Some(n.trim().to_owned()),
        Some(Value::Number(n)) if n.is_u64() => Some(n.to_string()),
        Some(_) => {
            return Err(SaleorError::payload(
                "order.number",
                "must be a string of at most 64 characters",
            ))
        }
    }
    .filter(|n| !n.is_empty());
    let created = match order.get("created") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(
            DateTime::parse_from_rfc3339(s)
                .map_err(|_| SaleorError::payload("order.created", "must be an RFC 3339 time"))?
                .with_timezone(&Utc),
        ),
        Some(_) => return Err(SaleorError::payload("order.created", "must be a string")),
    };

    let user_email = match order.get("user") {
        None | Some(Value::Null) => None,
        Some(Value::Object(user)) => opt_string(user, "email", "order.user.email", MAX_EMAIL_LEN)?,
        Some(_) => return Err(SaleorError::payload("order.user", "must be an object")),
    };
    let email = match opt_string(order, "userEmail", "order.userEmail", MAX_EMAIL_LEN)? {
        Some(e) => Some((e, "order.userEmail")),
        None => user_email.map(|e| (e, "order.user.email")),
    };
    let email = match email {
        Some((e, field)) => {
            let e = e.to_lowercase();
            if !valid_email(&e) {
                return Err(SaleorError::payload(field, "not an e-mail address"));
            }
            Some(e)
        }
        None => None,
    };

    let phone = match order.get("billingAddress") {
        None | Some(Value::Null) => None,
        Some(Value::Object(address)) => opt_string(
            address,
            "phone",
            "order.billingAddress.phone",
            MAX_PHONE_LEN,
        )?,
        Some(_) => {
            return Err(SaleorError::payload(
                "order.billingAddress",
                "must be an object",
            ))
        }
    };

    let gross = object_at(order, &["total", "gross"], "order.total.gross")?;
    let currency = match gross.get("currency") {
        Some(Value::String(c)) => c,
        _ => {
            return Err(SaleorError::payload(
                "order.total.gross.currency",
                "required string",
            ))
        }
    };
    if currency != "RUB" {
        return Err(SaleorError::UnsupportedCurrency(
            currency.chars().take(8).collect(),
        ));
    }
    let total = kopecks_at(gross, "order.total.gross.amount")?;

    let ref_code = match order.get("metadata") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => ref_code(items)?,
        Some(_) => return Err(SaleorError::payload("order.metadata", "must be an array")),
    };

    let lines = match order.get("lines") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) if items.len() <= MAX_LINES => items
            .iter()
            .enumerate()
            .map(|(i, item)| line(i, item))
            .collect::<Result<_, _>>()?,
        Some(Value::Array(_)) => return Err(SaleorError::payload("order.lines", "too many lines")),
        Some(_) => return Err(SaleorError::payload("order.lines", "must be an array")),
    };

    let charge_status = match order.get("chargeStatus") {
        None | Some(Value::Null) => None,
        Some(Value::String(c))
            if !c.is_empty()
                && c.len() <= 32
                && c.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') =>
        {
            Some(c.clone())
        }
        Some(_) => {
            return Err(SaleorError::payload(
                "order.chargeStatus",
                "must be an enum value",
            ))
        }
    };

    let idempotency_key = format!("saleor:{}:{order_id}", event.as_str());
    Ok(Some(SaleorOrder {
        event,
        order_id,
        number,
        created,
        email,
        phone,
        total,
        ref_code,
        lines,
        charge_status,
        idempotency_key,
    }))
}

/// A nullable string member, trimmed; empty is `None`.
fn opt_string(
    obj: &Map<String, Value>,
    name: &str,
    field: &str,
    max: usize,
) -> Result<Option<String>, SaleorError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.len() > max || s.chars().any(char::is_control) {
                return Err(SaleorError::payload(field, "too long or not printable"));
            }
            Ok((!s.is_empty()).then(|| s.to_owned()))
        }
        Some(_) => Err(SaleorError::payload(field, "must be a string")),
    }
}

/// The object at `path` under `obj` (all required).
fn object_at<'a>(
    obj: &'a Map<String, Value>,
    path: &[&str],
    field: &str,
) -> Result<&'a Map<String, Value>, SaleorError> {
    let mut at = obj;
    for name in path {
        at = match at.get(*name) {
            Some(Value::Object(next)) => next,
            _ => return Err(SaleorError::payload(field, "required object")),
        };
    }
    Ok(at)
}

/// `obj.amount` as exact kopecks.
fn kopecks_at(obj: &Map<String, Value>, field: &str) -> Result<Kopecks, SaleorError> {
    match obj.get("amount") {
        Some(Value::Number(n)) => number_to_kopecks(n).map(Kopecks::new).ok_or_else(|| {
            SaleorError::payload(field, "must be 0 to 10000000 with at most two decimals")
        }),
        _ => Err(SaleorError::payload(field, "required number")),
    }
}

fn valid_email(e: &str) -> bool {
    match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !e.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// The `ref_code` metadata value, upper-cased, if it is a valid referral code.
fn ref_code(items: &[Value]) -> Result<Option<String>, SaleorError> {
    for (i, item) in items.iter().take(MAX_METADATA).enumerate() {
        let Value::Object(entry) = item else {
            return Err(SaleorError::payload(
                format!("order.metadata[{i}]"),
                "must be an object",
            ));
        };
        if entry.get("key").and_then(Value::as_str) != Some("ref_code") {
            continue;
        }
        return Ok(entry
            .get("value")
            .and_then(Value::as_str)
            .and_then(|v| parse_referral_code(v).ok()));
    }
    Ok(None)
}

fn line(i: usize, item: &Value) -> Result<SaleorLine, SaleorError> {
    let at = |name: &str| format!("order.lines[{i}].{name}");
    let Value::Object(line) = item else {
        return Err(SaleorError::payload(
            format!("order.lines[{i}]"),
            "must be an object",
        ));
    };
    let sku = opt_string(line, "productSku", &at("productSku"), MAX_SKU_LEN)?;
    let name = opt_string(line, "productName", &at("productName"), MAX_NAME_LEN)?
        .ok_or_else(|| SaleorError::payload(at("productName"), "required string"))?;
    let quantity = match line.get("quantity").and_then(Value::as_i64) {
        Some(q) if (1..=MAX_QUANTITY).contains(&q) => {
            u32::try_from(q).map_err(|_| SaleorError::payload(at("quantity"), "out of range"))?
        }
        _ => {
            return Err(SaleorError::payload(
                at("quantity"),
                "must be an integer from 1 to 1000000",
            ))
        }
    };
    let gross = object_at(line, &["unitPrice", "gross"], &at("unitPrice.gross"))?;
    let unit_price = kopecks_at(gross, &at("unitPrice.gross.amount"))?;
    Ok(SaleorLine {
        sku,
        name,
        quantity,
        unit_price,
    })
}
