//! Settling preorder payments inside the payment webhook's transaction
//! (see [`OrderSettler`]): `preorder:<id>` confirms a preorder,
//! `preorder-upgrade:<upgrade id>` moves it to the dearer tier.
//!
//! A payment is never lost: when it cannot be applied it is recorded as a
//! refund due for the partner (`preorder_refunds`), with the reason in the
//! returned detail:
//!
//! - a payment for a lapsed hold confirms the preorder if a unit of its
//!   tier is still free (and its points can still be spent), else
//!   `sold_out` / `points_unavailable`;
//! - less than owed: `underpaid` (the preorder is left as it was); more:
//!   confirmed, the excess `overpaid`;
//! - a preorder already paid, cancelled or refunded: `not_payable`;
//! - a payer other than the preorder's member: `payer_mismatch`.

use serde_json::{json, Value};

use super::orders::{confirm_in, drop_upgrades};
use super::rules::Status;
use super::store::{self, Preorder};
use crate::db::ts;
use crate::params;
use crate::payments::webhook::{OrderSettler, PaidOrder, RefundedOrder};
use crate::ports::{Random, Sql, StoreError};
use crate::wallet::ledger::Actor;

/// Settles `preorder:<id>` payments.
#[derive(Debug, Clone, Copy)]
pub struct PreorderSettler;

/// Settles `preorder-upgrade:<upgrade id>` payments.
#[derive(Debug, Clone, Copy)]
pub struct UpgradeSettler;

// The webhook passes settlers no random source, so the ids they write
// derive from the event (processed once) and a counter: unique, and the
// same on a replay of the same transaction.
struct Derived<'a>(&'a str, std::cell::Cell<u32>);

fn derived(seed: &str) -> Derived<'_> {
    Derived(seed, std::cell::Cell::new(0))
}

impl Random for Derived<'_> {
    fn fill(&self, buf: &mut [u8]) {
        use sha2::{Digest, Sha256};
        let mut off = 0;
        while off < buf.len() {
            let counter = self.1.get();
            self.1.set(counter.wrapping_add(1));
            let h = Sha256::new()
                .chain_update(self.0.as_bytes())
                .chain_update(counter.to_be_bytes())
                .finalize();
            let n = (buf.len() - off).min(h.len());
            buf[off..off + n].copy_from_slice(&h[..n]);
            off += n;
        }
    }
}

fn actor(provider: &str) -> Actor {
    Actor {
        role: "system",
        id: Some(format!("webhook:{provider}")),
    }
}

fn due(
    tx: &dyn Sql,
    order: &PaidOrder<'_>,
    p: &Preorder,
    amount: i64,
    reason: &str,
) -> Result<Value, StoreError> {
    let seed = format!("{}:{}:{reason}", order.provider, order.payment_id);
    let id = store::refund_due(
        tx,
        order.now,
        &derived(&seed),
        &p.id,
        order.business_id,
        &p.member_id,
        amount,
        reason,
        Some(order.payment_id),
    )?;
    Ok(json!({ "refund_due": amount, "reason": reason, "refund_id": id }))
}

fn settle_refund(tx: &dyn Sql, order: &RefundedOrder<'_>) -> Result<Value, StoreError> {
    // The provider refunded: the matching due refunds of that payment are
    // settled (all of them on a full refund).
    if order.full {
        tx.execute(
            "UPDATE preorder_refunds SET status = 'settled' WHERE payment_id = ? AND business_id = ? AND status = 'due'",
            &params![order.payment_id, order.business_id],
        )?;
    } else {
        tx.execute(
            "UPDATE preorder_refunds SET status = 'settled' WHERE id = (SELECT id FROM preorder_refunds \
             WHERE payment_id = ? AND business_id = ? AND status = 'due' AND amount = ? ORDER BY created_at LIMIT 1)",
            &params![order.payment_id, order.business_id, order.amount],
        )?;
    }
    Ok(json!({ "refunds_settled": tx.changes()? }))
}

impl OrderSettler for PreorderSettler {
    fn prefix(&self) -> &'static str {
        "preorder"
    }

    fn paid(&self, tx: &dyn Sql, order: &PaidOrder<'_>) -> Result<Value, StoreError> {
        let Some(p) = store::preorder(tx, order.id)? else {
            return Ok(json!({ "preorder": "unknown" }));
        };
        if order.member_id != Some(p.member_id.as_str()) || order.business_id != p.business_id {
            return due(tx, order, &p, order.amount, "payer_mismatch");
        }
        if order.amount < p.total {
            return due(tx, order, &p, order.amount, "underpaid");
        }
        let lapsed =
            p.status == Status::Cancelled && p.cancel_reason.as_deref() == Some("hold_expired");
        let unit = match p.status {
            // Its unit is still counted as held (lapsed or not): move it.
            Status::PendingPayment => "held",
            _ if lapsed => {
                let item = store::item(tx, &p.item_id)?;
                let released = item.is_none_or(|i| i.fields.release_at <= order.now);
                if released || !store::take_sold(tx, &p.tier_id)? {
                    return due(tx, order, &p, order.amount, "sold_out");
                }
                "retaken"
            }
            _ => return due(tx, order, &p, order.amount, "not_payable"),
        };
        let paid = p.total;
        match confirm_in(
            tx,
            order.now,
            &derived(order.payment_id),
            &p,
            Some(order.payment_id),
            paid,
            &actor(order.provider),
        )? {
            Ok(()) => {
                if unit == "held" {
                    store::shift(tx, &p.tier_id, -1, 1)?;
                }
                let mut out = json!({ "preorder": p.id, "status": "confirmed", "unit": unit });
                if order.amount > paid {
                    out["excess"] = due(tx, order, &p, order.amount - paid, "overpaid")?;
                }
                Ok(out)
            }
            Err(_) => {
                if unit == "retaken" {
                    store::shift(tx, &p.tier_id, 0, -1)?;
                }
                due(tx, order, &p, order.amount, "points_unavailable")
            }
        }
    }

    fn refunded(&self, tx: &dyn Sql, order: &RefundedOrder<'_>) -> Result<Value, StoreError> {
        settle_refund(tx, order)
    }
}

impl OrderSettler for UpgradeSettler {
    fn prefix(&self) -> &'static str {
        "preorder-upgrade"
    }

    fn paid(&self, tx: &dyn Sql, order: &PaidOrder<'_>) -> Result<Value, StoreError> {
        let rows = tx.execute(
            "SELECT preorder_id, from_tier_id, to_tier_id, amount, status FROM preorder_upgrades WHERE id = ?",
            &params![order.id],
        )?;
        let Some(u) = rows.first() else {
            return Ok(json!({ "upgrade": "unknown" }));
        };
        let (from, to, amount, status) = (
            u.text("from_tier_id")?,
            u.text("to_tier_id")?,
            u.i64("amount")?,
            u.text("status")?,
        );
        let Some(p) = store::preorder(tx, &u.text("preorder_id")?)? else {
            return Ok(json!({ "upgrade": "unknown" }));
        };
        if order.member_id != Some(p.member_id.as_str()) || order.business_id != p.business_id {
            return due(tx, order, &p, order.amount, "payer_mismatch");
        }
        if !p.status.is_paid_live() || p.tier_id != from {
            // The preorder moved on: the upgrade is void, its unit freed.
            drop_upgrades(tx, &p.id)?;
            return due(tx, order, &p, order.amount, "not_payable");
        }
        if order.amount < amount {
            return due(tx, order, &p, order.amount, "underpaid");
        }
        match status.as_str() {
            "pending_payment" => store::shift(tx, &to, -1, 1)?,
            "expired" => {
                if !store::take_sold(tx, &to)? {
                    return due(tx, order, &p, order.amount, "sold_out");
                }
            }
            _ => return due(tx, order, &p, order.amount, "not_payable"),
        }
        // The old unit is given back only now that the new one is paid.
        store::shift(tx, &from, 0, -1)?;
        tx.execute(
            "UPDATE preorder_upgrades SET status = 'paid', payment_id = ?, paid_at = ? WHERE id = ?",
            &params![order.payment_id, ts(order.now), order.id],
        )?;
        tx.execute(
            "UPDATE preorders SET tier_id = ?, price = price + ?, updated_at = ? WHERE id = ?",
            &params![to.as_str(), amount, ts(order.now), p.id.as_str()],
        )?;
        let mut out =
            json!({ "preorder": p.id, "upgrade": order.id, "tier_id": to, "status": "paid" });
        if order.amount > amount {
            out["excess"] = due(tx, order, &p, order.amount - amount, "overpaid")?;
        }
        Ok(out)
    }

    fn refunded(&self, tx: &dyn Sql, order: &RefundedOrder<'_>) -> Result<Value, StoreError> {
        settle_refund(tx, order)
    }
}
