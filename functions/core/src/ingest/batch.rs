//! The JSON batch of `POST /ingest/transactions`: at most
//! [`MAX_BATCH_ROWS`] rows, each read on its own so a row of the wrong
//! shape is a rejected row, not a refused batch.

use chrono_tz::Tz;
use serde_json::{Map, Value};

use super::{normalize, Customer, Parsed, Transaction, MAX_BATCH_ROWS};
use crate::error::InvalidValue;
use crate::wallet::lines::{self, LineBody};

const FIELDS: [&str; 8] = [
    "external_id",
    "occurred_at",
    "amount",
    "customer",
    "category",
    "description",
    "items",
    "refund_of",
];

/// Reads the batch body. The batch is refused as a whole only when it is
/// not `{"transactions": [...]}`, is empty, or has too many rows.
pub fn parse(body: &Value, tz: Tz) -> Result<Vec<Parsed>, InvalidValue> {
    let rows = body
        .as_object()
        .and_then(|o| o.get("transactions"))
        .and_then(Value::as_array)
        .ok_or_else(|| {
            InvalidValue::new(
                "INVALID_FIELD",
                "transactions",
                "the body must be {\"transactions\": [...]}",
            )
        })?;
    if let Some(extra) = body
        .as_object()
        .and_then(|o| o.keys().find(|k| *k != "transactions"))
    {
        return Err(InvalidValue::new(
            "INVALID_FIELD",
            extra.clone(),
            "unknown field",
        ));
    }
    if rows.is_empty() {
        return Err(InvalidValue::new(
            "INVALID_FIELD",
            "transactions",
            "at least one transaction is required",
        ));
    }
    if rows.len() > MAX_BATCH_ROWS {
        return Err(InvalidValue::new(
            "TOO_MANY_ROWS",
            "transactions",
            format!("at most {MAX_BATCH_ROWS} transactions per batch; send the rest in another"),
        ));
    }
    Ok(rows
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let external_id = v.get("external_id").and_then(|e| match e {
                Value::String(s) => normalize::external_id(s, "external_id").ok(),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            });
            Parsed {
                row: i + 1,
                external_id,
                result: row(v, tz),
            }
        })
        .collect())
}

fn text<'a>(o: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, InvalidValue> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(InvalidValue::new("INVALID_FIELD", name, "must be a string")),
    }
}

fn row(v: &Value, tz: Tz) -> Result<Transaction, InvalidValue> {
    let o = v
        .as_object()
        .ok_or_else(|| InvalidValue::new("INVALID_FIELD", "", "a transaction must be an object"))?;
    if let Some(k) = o.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(InvalidValue::new(
            "INVALID_FIELD",
            k.clone(),
            "unknown field",
        ));
    }
    let external_id = match o.get("external_id") {
        Some(Value::String(s)) => normalize::external_id(s, "external_id")?,
        Some(Value::Number(n)) if n.is_u64() => n.to_string(),
        _ => {
            return Err(InvalidValue::new(
                "INVALID_EXTERNAL_ID",
                "external_id",
                "external_id is required (a string)",
            ))
        }
    };
    let occurred_at = match text(o, "occurred_at")? {
        Some(s) => normalize::occurred_at(s, tz, "occurred_at")?,
        None => {
            return Err(InvalidValue::new(
                "INVALID_DATE",
                "occurred_at",
                "occurred_at is required",
            ))
        }
    };
    let amount = match o.get("amount").and_then(Value::as_i64) {
        Some(k) => normalize::check_amount(k, "amount")?,
        None => {
            return Err(InvalidValue::new(
                "INVALID_AMOUNT",
                "amount",
                "amount is required: an integer number of kopecks",
            ))
        }
    };
    let customer = customer(o.get("customer"))?;
    let category = text(o, "category")?
        .map(|c| normalize::category(c, "category"))
        .transpose()?
        .flatten();
    let description = text(o, "description")?.and_then(normalize::description);
    let refund_of = text(o, "refund_of")?
        .map(|r| normalize::external_id(r, "refund_of"))
        .transpose()?;
    let items = match o.get("items") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => {
            let bodies: Vec<LineBody> = serde_json::from_value(v.clone())
                .map_err(|e| InvalidValue::new("INVALID_FIELD", "items", format!("items: {e}")))?;
            lines::parse(&bodies, "items", category)?
        }
    };
    Ok(Transaction {
        external_id,
        occurred_at,
        amount,
        customer,
        category,
        description,
        items,
        refund_of,
    })
}

fn customer(v: Option<&Value>) -> Result<Customer, InvalidValue> {
    let bad = |reason: &str| InvalidValue::new("INVALID_CUSTOMER", "customer", reason);
    let o = v
        .and_then(Value::as_object)
        .ok_or_else(|| bad("customer is required: {phone}, {card_number} or {phone_sha256}"))?;
    if o.len() != 1 {
        return Err(bad(
            "customer must have exactly one of phone, card_number, phone_sha256",
        ));
    }
    let (k, v) = o.iter().next().ok_or_else(|| bad("customer is empty"))?;
    let s = v
        .as_str()
        .ok_or_else(|| bad("the customer's id must be a string"))?;
    match k.as_str() {
        "phone" => normalize::phone_customer(s, "customer.phone"),
        "card_number" => {
            let c = s.trim().to_ascii_uppercase();
            if c.is_empty()
                || c.len() > 32
                || !c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(InvalidValue::new(
                    "INVALID_CUSTOMER",
                    "customer.card_number",
                    "card_number must be the number printed on the member card",
                ));
            }
            Ok(Customer::Card(c))
        }
        "phone_sha256" => {
            normalize::phone_sha256(s, "customer.phone_sha256").map(Customer::PhoneSha256)
        }
        other => Err(InvalidValue::new(
            "INVALID_FIELD",
            format!("customer.{other}"),
            "customer takes phone, card_number or phone_sha256",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tz() -> Tz {
        normalize::zone("Europe/Moscow")
    }

    #[test]
    fn each_row_is_read_on_its_own() {
        let body = json!({"transactions": [
            {"external_id": "a1", "occurred_at": "2026-11-30T10:00:00Z", "amount": 150000,
             "customer": {"phone": "8 (916) 123-45-67"}, "category": "gastronomy",
             "items": [{"sku": "latte", "quantity": 2, "unit_price": 25000}]},
            {"external_id": "a2", "occurred_at": "2026-11-30", "amount": "1500", "customer": {"phone": "+79161234567"}},
            {"external_id": 77, "occurred_at": "30.11.2026", "amount": 100, "customer": {"card_number": "kr-1234"}, "refund_of": "a1"},
            {"external_id": "a4", "occurred_at": "2026-11-30", "amount": 100, "customer": {"phone_sha256": "AB".repeat(32)}},
            {"external_id": "a5", "occurred_at": "2026-11-30", "amount": 100, "customer": {"phone": "1", "card_number": "x"}},
            {"external_id": "a6", "occurred_at": "2026-11-30", "amount": 100, "customer": {"phone": "+79161234567"}, "colour": "red"},
            "not an object"
        ]});
        let rows = parse(&body, tz()).unwrap();
        assert_eq!(rows.len(), 7);
        let t = rows[0].result.as_ref().unwrap();
        assert_eq!(
            (t.amount, t.items.len(), t.items[0].category.as_str()),
            (150_000, 1, "gastronomy")
        );
        assert_eq!(rows[1].result.as_ref().unwrap_err().code, "INVALID_AMOUNT");
        assert_eq!(rows[1].external_id.as_deref(), Some("a2"));
        let r = rows[2].result.as_ref().unwrap();
        assert_eq!(
            (r.external_id.as_str(), r.refund_of.as_deref()),
            ("77", Some("a1"))
        );
        assert_eq!(r.customer, Customer::Card("KR-1234".into()));
        assert_eq!(
            rows[3].result.as_ref().unwrap().customer,
            Customer::PhoneSha256("ab".repeat(32))
        );
        assert_eq!(
            rows[4].result.as_ref().unwrap_err().code,
            "INVALID_CUSTOMER"
        );
        assert_eq!(rows[5].result.as_ref().unwrap_err().code, "INVALID_FIELD");
        assert_eq!((rows[6].row, rows[6].external_id.clone()), (7, None));
        assert!(rows[6].result.is_err());
    }

    #[test]
    fn the_batch_itself_must_be_well_formed() {
        let one = json!({"external_id": "x", "occurred_at": "2026-11-30", "amount": 1, "customer": {"phone": "+79161234567"}});
        assert_eq!(
            parse(&json!([one]), tz()).unwrap_err().code,
            "INVALID_FIELD"
        );
        assert_eq!(
            parse(&json!({"transactions": []}), tz()).unwrap_err().code,
            "INVALID_FIELD"
        );
        assert_eq!(
            parse(&json!({"transactions": [one], "x": 1}), tz())
                .unwrap_err()
                .code,
            "INVALID_FIELD"
        );
        let many: Vec<Value> = (0..1001).map(|_| one.clone()).collect();
        assert_eq!(
            parse(&json!({"transactions": many}), tz())
                .unwrap_err()
                .code,
            "TOO_MANY_ROWS"
        );
        let max: Vec<Value> = (0..1000).map(|_| one.clone()).collect();
        assert_eq!(
            parse(&json!({"transactions": max}), tz()).unwrap().len(),
            1000
        );
    }
}
