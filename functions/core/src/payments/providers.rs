//! Provider formats turned into one [`Event`]: the generic provider's
//! signed JSON, and YooKassa's notifications confirmed by reading the
//! object back from the YooKassa API (only the read-back is trusted).

use base64::{engine::general_purpose::STANDARD, Engine as _};
use serde::Deserialize;
use serde_json::Value;

use super::amount::parse_rub;
use super::webhook::{Event, Kind, Payer};
use crate::auth::members::parse_referral_code;
use crate::error::InvalidValue;
use crate::ports::{Http, OutboundRequest};
use crate::types::{Id, Phone};
use crate::wallet::Category;

fn invalid(field: &str, reason: &str) -> InvalidValue {
    InvalidValue::new("INVALID_FIELD", field, reason)
}

fn provider_id(raw: &str, field: &str) -> Result<String, InvalidValue> {
    let s = raw.trim();
    if s.is_empty() || s.len() > 128 || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid(field, "an id of 1-128 printable characters"));
    }
    Ok(s.to_string())
}

/// `data` of a generic event.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenericData {
    /// Payment id.
    pub payment_id: String,
    /// Order reference.
    #[serde(default)]
    pub order_ref: Option<String>,
    /// Business id.
    pub business_id: String,
    /// Kopecks (paid, or refunded for refunds).
    pub amount: i64,
    /// `RUB`.
    pub currency: String,
    /// Member id.
    #[serde(default)]
    pub member_id: Option<String>,
    /// Phone, when the member id is not known.
    #[serde(default)]
    pub customer_phone: Option<String>,
    /// Checkout reservation.
    #[serde(default)]
    pub reservation_id: Option<String>,
    /// Referral code (stored on the payment for the referral capability).
    #[serde(default)]
    pub ref_code: Option<String>,
    /// Category slug.
    #[serde(default)]
    pub category: Option<String>,
    /// Refund id (refunds).
    #[serde(default)]
    pub refund_id: Option<String>,
    /// Cross-promo coupon activation code.
    #[serde(default)]
    pub coupon_code: Option<String>,
    /// What was sold, kept with the purchase (not for medical businesses).
    #[serde(default)]
    pub items: Option<Vec<crate::wallet::lines::LineBody>>,
}

/// A generic event body: `{id, type, created, data}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenericEvent {
    /// Event id.
    pub id: String,
    /// Event type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Unix seconds.
    pub created: i64,
    /// Payload.
    pub data: GenericData,
}

/// Checks a generic event; `Ok(None)` for types Krug ignores.
pub fn generic(e: &GenericEvent) -> Result<Option<Event>, InvalidValue> {
    let event_id = provider_id(&e.id, "id")?;
    let Some(kind) = Kind::parse(e.kind.trim()) else {
        return Ok(None);
    };
    let d = &e.data;
    if d.currency != "RUB" {
        return Err(InvalidValue::new(
            "INVALID_CURRENCY",
            "data.currency",
            "the club trades in RUB only",
        ));
    }
    let amount = crate::types::Kopecks::positive(d.amount, "data.amount")?.get();
    let payer = match (&d.member_id, &d.customer_phone) {
        (Some(m), _) => Some(Payer::Member(Id::parse(m, "data.member_id")?.to_text())),
        (None, Some(p)) => Some(Payer::Phone(
            Phone::parse(p).map_err(|e| e.at("data.customer_phone"))?,
        )),
        (None, None) if kind == Kind::PaymentSucceeded => {
            return Err(invalid(
                "data.member_id",
                "member_id or customer_phone is required",
            ))
        }
        (None, None) => None,
    };
    let refund_id = match (&d.refund_id, kind) {
        (Some(r), _) => Some(provider_id(r, "data.refund_id")?),
        (None, Kind::RefundSucceeded) => {
            return Err(invalid("data.refund_id", "a refund needs refund_id"))
        }
        (None, _) => None,
    };
    let category = d
        .category
        .as_deref()
        .map(|c| Category::parse(c, "data.category"))
        .transpose()?;
    let items = match &d.items {
        Some(items) => crate::wallet::lines::parse(items, "data.items", category)?,
        None => Vec::new(),
    };
    Ok(Some(Event {
        provider: "generic",
        event_id,
        kind,
        payment_id: provider_id(&d.payment_id, "data.payment_id")?,
        refund_id,
        business_id: Id::parse(&d.business_id, "data.business_id")?.to_text(),
        amount,
        payer,
        order_ref: d
            .order_ref
            .as_deref()
            .map(|o| crate::wallet::pos::order_ref(o, "data.order_ref"))
            .transpose()?,
        reservation_id: d
            .reservation_id
            .as_deref()
            .map(|r| Id::parse(r, "data.reservation_id").map(|i| i.to_text()))
            .transpose()?,
        category,
        items,
        coupon_code: d
            .coupon_code
            .as_deref()
            .map(|c| provider_id(c, "data.coupon_code"))
            .transpose()?,
        ref_code: d
            .ref_code
            .as_deref()
            .map(|c| parse_referral_code(c).map_err(|e| e.at("data.ref_code")))
            .transpose()?,
        ingested: None,
    }))
}

/// What a YooKassa notification names: the event and the object to read
/// back. Everything else in the notification is ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// `payment.succeeded`, `payment.canceled` or `refund.succeeded`.
    pub kind: Kind,
    /// The payment or refund id.
    pub object_id: String,
}

/// Parses a YooKassa notification body; `Ok(None)` for other events.
pub fn yookassa_notification(body: &Value) -> Result<Option<Notification>, InvalidValue> {
    if body.get("type").and_then(Value::as_str) != Some("notification") {
        return Err(invalid(
            "type",
            "a YooKassa notification has type \"notification\"",
        ));
    }
    let event = body
        .get("event")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("event", "missing event"))?;
    let id = body
        .get("object")
        .and_then(|o| o.get("id"))
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("object.id", "missing object id"))?;
    Ok(Kind::parse(event).map(|kind| Notification {
        kind,
        object_id: id.to_string(),
    }))
}

/// Where and how to read objects back.
#[derive(Debug, Clone)]
pub struct YooKassaApi {
    /// `yookassa_api_url` (an origin).
    pub url: String,
    /// `yookassa_shop_id`.
    pub shop_id: String,
    /// `yookassa_secret_key`.
    pub secret_key: String,
}

/// Reading back failed; the notification is answered 502/503 so YooKassa
/// retries it.
#[derive(Debug, thiserror::Error)]
pub enum ReadBackError {
    /// YooKassa could not be reached or answered an error.
    #[error("YooKassa read-back failed: {0}")]
    Unavailable(String),
    /// The object read back is not what the notification said.
    #[error("YooKassa object does not confirm the notification: {0}")]
    Unconfirmed(String),
    /// The object read back lacks what Krug needs.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
}

fn get_json(http: &dyn Http, api: &YooKassaApi, path: &str) -> Result<Value, ReadBackError> {
    let auth = STANDARD.encode(format!("{}:{}", api.shop_id, api.secret_key));
    let resp = http
        .send(OutboundRequest {
            method: "GET".into(),
            url: format!("{}{path}", api.url.trim_end_matches('/')),
            headers: vec![("authorization".into(), format!("Basic {auth}"))],
            body: Vec::new(),
        })
        .map_err(|e| ReadBackError::Unavailable(e.to_string()))?;
    if resp.status != 200 {
        return Err(ReadBackError::Unavailable(format!(
            "status {}",
            resp.status
        )));
    }
    serde_json::from_slice(&resp.body)
        .map_err(|e| ReadBackError::Unavailable(format!("bad JSON: {e}")))
}

fn amount_of(obj: &Value, field: &str) -> Result<i64, InvalidValue> {
    let a = obj
        .get("amount")
        .ok_or_else(|| invalid(field, "missing amount"))?;
    if a.get("currency").and_then(Value::as_str) != Some("RUB") {
        return Err(InvalidValue::new(
            "INVALID_CURRENCY",
            field,
            "the club trades in RUB only",
        ));
    }
    a.get("value")
        .and_then(Value::as_str)
        .and_then(parse_rub)
        .ok_or_else(|| {
            InvalidValue::new(
                "INVALID_AMOUNT",
                field,
                "amount.value must be a decimal string like \"3000.00\"",
            )
        })
}

fn meta<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.get("metadata")
        .and_then(|m| m.get(key))
        .and_then(Value::as_str)
}

// The event a payment object read back describes. Krug's own data rides in
// the payment's metadata (set by the checkout that created the payment):
// business_id, member_id or customer_phone, order_ref, reservation_id,
// category, coupon_code.
fn payment_event(
    kind: Kind,
    p: &Value,
    refund: Option<(&str, i64)>,
) -> Result<Event, InvalidValue> {
    let payment_id = p
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("object.id", "missing id"))?;
    let business_id = meta(p, "business_id")
        .ok_or_else(|| invalid("metadata.business_id", "missing business_id"))?;
    let payer = match (meta(p, "member_id"), meta(p, "customer_phone")) {
        (Some(m), _) => Some(Payer::Member(Id::parse(m, "metadata.member_id")?.to_text())),
        (None, Some(ph)) => Some(Payer::Phone(
            Phone::parse(ph).map_err(|e| e.at("metadata.customer_phone"))?,
        )),
        (None, None) => None,
    };
    let (event_id, amount, refund_id) = match refund {
        Some((rid, amount)) => (
            format!("{rid}:{}", kind.as_str()),
            amount,
            Some(rid.to_string()),
        ),
        None => (
            format!("{payment_id}:{}", kind.as_str()),
            amount_of(p, "object.amount")?,
            None,
        ),
    };
    Ok(Event {
        provider: "yookassa",
        event_id,
        kind,
        payment_id: provider_id(payment_id, "object.id")?,
        refund_id,
        business_id: Id::parse(business_id, "metadata.business_id")?.to_text(),
        amount,
        payer,
        order_ref: meta(p, "order_ref").map(str::to_string),
        reservation_id: meta(p, "reservation_id")
            .map(|r| Id::parse(r, "metadata.reservation_id").map(|i| i.to_text()))
            .transpose()?,
        category: meta(p, "category")
            .map(|c| Category::parse(c, "metadata.category"))
            .transpose()?,
        coupon_code: meta(p, "coupon_code").map(str::to_string),
        items: Vec::new(),
        ref_code: meta(p, "ref_code")
            .map(|c| parse_referral_code(c).map_err(|e| e.at("metadata.ref_code")))
            .transpose()?,
        ingested: None,
    })
}

/// Reads the notified object back from YooKassa and builds the event from
/// it alone. The object's status must confirm the notification
/// (`succeeded`, `canceled`, or a `succeeded` refund).
pub fn yookassa_read_back(
    http: &dyn Http,
    api: &YooKassaApi,
    n: &Notification,
) -> Result<Event, ReadBackError> {
    let id = provider_id(&n.object_id, "object.id")?;
    // Ids are path segments: keep them to a safe alphabet.
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(invalid("object.id", "unexpected characters in the id").into());
    }
    let status_is =
        |obj: &Value, want: &str| obj.get("status").and_then(Value::as_str) == Some(want);
    match n.kind {
        Kind::PaymentSucceeded | Kind::PaymentCanceled => {
            let p = get_json(http, api, &format!("/v3/payments/{id}"))?;
            let want = if n.kind == Kind::PaymentSucceeded {
                "succeeded"
            } else {
                "canceled"
            };
            if !status_is(&p, want) {
                return Err(ReadBackError::Unconfirmed(format!(
                    "payment {id} is not {want}"
                )));
            }
            Ok(payment_event(n.kind, &p, None)?)
        }
        Kind::RefundSucceeded => {
            let r = get_json(http, api, &format!("/v3/refunds/{id}"))?;
            if !status_is(&r, "succeeded") {
                return Err(ReadBackError::Unconfirmed(format!(
                    "refund {id} is not succeeded"
                )));
            }
            let amount = amount_of(&r, "object.amount")?;
            let payment_id = r
                .get("payment_id")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("object.payment_id", "missing payment_id"))?;
            if !payment_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(invalid("object.payment_id", "unexpected characters in the id").into());
            }
            let p = get_json(http, api, &format!("/v3/payments/{payment_id}"))?;
            Ok(payment_event(n.kind, &p, Some((&id, amount)))?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(data: Value) -> Result<Option<Event>, InvalidValue> {
        let body =
            json!({ "id": "evt_1", "type": "payment.succeeded", "created": 1, "data": data });
        generic(&serde_json::from_value(body).unwrap())
    }

    fn paid_data() -> Value {
        json!({ "payment_id": "pay_1", "business_id": "0190f3a0-0000-7000-8000-000000000001",
                "amount": 150_000, "currency": "RUB", "member_id": "0190f3a0-0000-7000-8000-000000000002" })
    }

    #[test]
    fn referral_codes_are_normalised_and_checked() {
        let mut d = paid_data();
        d["ref_code"] = json!(" abcd2345 ");
        let e = parse(d.clone()).unwrap().unwrap();
        assert_eq!(e.ref_code.as_deref(), Some("ABCD2345"));
        d["ref_code"] = json!("O0I1-bad");
        let err = parse(d).unwrap_err();
        assert_eq!(
            (err.code, err.field.as_str()),
            ("INVALID_REFERRAL_CODE", "data.ref_code")
        );
        assert_eq!(parse(paid_data()).unwrap().unwrap().ref_code, None);
    }

    #[test]
    fn other_currencies_and_payer_less_payments_are_refused() {
        let mut d = paid_data();
        d["currency"] = json!("USD");
        assert_eq!(parse(d).unwrap_err().code, "INVALID_CURRENCY");
        let mut d = paid_data();
        d.as_object_mut().unwrap().remove("member_id");
        assert_eq!(parse(d).unwrap_err().field, "data.member_id");
    }

    #[test]
    fn unknown_event_types_are_ignored() {
        let body =
            json!({ "id": "evt_2", "type": "payout.created", "created": 1, "data": paid_data() });
        assert!(generic(&serde_json::from_value(body).unwrap())
            .unwrap()
            .is_none());
    }
}
