//! Members' side: the catalogue, placing a preorder (with points held like a
//! checkout), reading it, upgrading and cancelling it by the policy.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::rules::{self, RefundTerm, Status};
use super::store::{self, ItemView, Preorder};
use super::{PreorderEnv, PreorderError, HOLD_MINUTES};
use crate::db::{immediate, ts};
use crate::error::InvalidValue;
use crate::pagination::{page_from, Cursor, NewestFirst, Page};
use crate::params;
use crate::ports::{Random, Sql, StoreError};
use crate::types::Id;
use crate::wallet::ledger::{self, Actor, CauseType, EntryKind, LedgerError, Posting};
use crate::wallet::member;

/// `GET /preorders/items`: items not yet released, soonest first.
pub fn list_items(
    env: &PreorderEnv<'_>,
    limit: u32,
    cursor: Option<&Cursor>,
) -> Result<Page<ItemView>, PreorderError> {
    let now = env.clock.now();
    let start = ts(now);
    let after = cursor.map_or((start.as_str(), ""), |c| {
        (c.key.as_str().max(start.as_str()), c.id.as_str())
    });
    let mut items = store::items_page(env.sql, Some(after), limit + 1)?;
    let next = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|i| {
            Cursor {
                key: ts(i.fields.release_at),
                id: i.id.clone(),
            }
            .encode()
        })
    } else {
        None
    };
    let views = items
        .iter()
        .map(|i| store::item_view(env.sql, i, now))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page {
        items: views,
        next_cursor: next,
    })
}

/// `GET /preorders`: the member's own preorders, newest first, in the same
/// shape as `GET /preorders/{id}`.
pub fn list_mine(
    env: &PreorderEnv<'_>,
    member_id: &str,
    limit: u32,
    cursor: Option<&Cursor>,
) -> Result<Page<PreorderView>, PreorderError> {
    let (text, args) =
        NewestFirst::new(format!("SELECT {} FROM preorders", store::PREORDER_COLUMNS))
            .filter("member_id = ?", member_id)
            .page("created_at", "id", cursor, limit);
    let orders = env
        .sql
        .execute(&text, &args)?
        .iter()
        .map(Preorder::decode)
        .collect::<Result<Vec<_>, _>>()?;
    let page = page_from(orders, limit, |p| Cursor {
        key: p.created_at.clone(),
        id: p.id.clone(),
    });
    let now = env.clock.now();
    Ok(Page {
        items: page
            .items
            .iter()
            .map(|p| view(env.sql, p, now))
            .collect::<Result<Vec<_>, _>>()?,
        next_cursor: page.next_cursor,
    })
}

/// `GET /preorders/items/{id}`.
pub fn read_item(env: &PreorderEnv<'_>, id: &str) -> Result<ItemView, PreorderError> {
    let item = store::item(env.sql, id)?.ok_or(PreorderError::NotFound)?;
    Ok(store::item_view(env.sql, &item, env.clock.now())?)
}

/// `POST /preorders`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOrder {
    /// The tier.
    pub tier_id: String,
    /// Points to pay with (held until paid), 0 – the tier's price.
    #[serde(default)]
    pub points: Option<i64>,
}

/// `POST /preorders/{id}/upgrade`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpgrade {
    /// The dearer tier of the same item.
    pub tier_id: String,
}

/// A granted bonus on the wire.
#[derive(Debug, Clone, Serialize)]
pub struct GrantView {
    /// Bonus type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Delivery.
    pub delivery: String,
    /// The bonus's value.
    pub value: Value,
    /// The activation code, when the bonus has one.
    pub code: Option<String>,
    /// When granted.
    pub granted_at: String,
}

/// An upgrade on the wire.
#[derive(Debug, Clone, Serialize)]
pub struct UpgradeView {
    /// Id.
    pub id: String,
    /// The preorder.
    pub preorder_id: String,
    /// From.
    pub from_tier_id: String,
    /// To.
    pub to_tier_id: String,
    /// The price difference to pay, kopecks.
    pub amount: i64,
    /// `pending_payment`, `paid`, `expired` or `cancelled`.
    pub status: String,
    /// Pay with this `order_ref`.
    pub order_ref: String,
    /// The new tier's unit is held until then.
    pub hold_expires_at: String,
    /// Created.
    pub created_at: String,
}

/// The refund of a cancellation.
#[derive(Debug, Clone, Serialize)]
pub struct RefundView {
    /// Which part of the policy applied.
    pub term: RefundTerm,
    /// Money the partner refunds through the provider, kopecks.
    pub amount: i64,
    /// Points back in the ledger.
    pub points_returned: i64,
}

/// A preorder on the wire.
#[derive(Debug, Clone, Serialize)]
pub struct PreorderView {
    /// Id.
    pub id: String,
    /// The item.
    pub item_id: String,
    /// The current tier.
    pub tier_id: String,
    /// Lifecycle status.
    pub status: Status,
    /// The current tier's price when taken, kopecks.
    pub price: i64,
    /// Money to pay with `order_ref` (price − points), kopecks.
    pub total: i64,
    /// Points paying for part of it.
    pub points_used: i64,
    /// Pay with this `order_ref`.
    pub order_ref: String,
    /// Unpaid, the unit and points are held until then.
    pub hold_expires_at: String,
    /// Created.
    pub created_at: String,
    /// Paid.
    pub confirmed_at: Option<String>,
    /// Fulfilled.
    pub fulfilled_at: Option<String>,
    /// Cancelled or refunded.
    pub cancelled_at: Option<String>,
    /// The refund, once cancelled.
    pub refund: Option<RefundView>,
    /// Bonuses granted at fulfilment.
    pub bonuses: Vec<GrantView>,
    /// An upgrade awaiting payment.
    pub pending_upgrade: Option<UpgradeView>,
}

fn upgrade_view(r: crate::db::Row<'_>) -> Result<UpgradeView, StoreError> {
    let id = r.text("id")?;
    Ok(UpgradeView {
        order_ref: format!("preorder-upgrade:{id}"),
        id,
        preorder_id: r.text("preorder_id")?,
        from_tier_id: r.text("from_tier_id")?,
        to_tier_id: r.text("to_tier_id")?,
        amount: r.i64("amount")?,
        status: r.text("status")?,
        hold_expires_at: r.text("hold_expires_at")?,
        created_at: r.text("created_at")?,
    })
}

pub(crate) fn view(
    sql: &dyn Sql,
    p: &Preorder,
    now: DateTime<Utc>,
) -> Result<PreorderView, StoreError> {
    let bonuses = sql
        .execute(
            "SELECT type, delivery, value, code, granted_at FROM preorder_grants WHERE preorder_id = ? ORDER BY bonus_index",
            &params![p.id.as_str()],
        )?
        .iter()
        .map(|r| {
            Ok(GrantView {
                kind: r.text("type")?,
                delivery: r.text("delivery")?,
                value: serde_json::from_str(&r.text("value")?).unwrap_or(Value::Null),
                code: r.opt_text("code")?,
                granted_at: r.text("granted_at")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let pending_upgrade = sql
        .execute(
            "SELECT id, preorder_id, from_tier_id, to_tier_id, amount, status, hold_expires_at, created_at \
             FROM preorder_upgrades WHERE preorder_id = ? AND status = 'pending_payment' AND hold_expires_at > ?",
            &params![p.id.as_str(), ts(now)],
        )?
        .first()
        .map(upgrade_view)
        .transpose()?;
    let refund = p.cancelled_at.as_ref().map(|_| RefundView {
        term: match p.cancel_reason.as_deref() {
            Some("full") => RefundTerm::Full,
            Some("partial") => RefundTerm::Partial,
            Some("none") => RefundTerm::None,
            _ => RefundTerm::Unpaid,
        },
        amount: p.refund_amount.unwrap_or(0),
        points_returned: p.points_returned.unwrap_or(0),
    });
    Ok(PreorderView {
        id: p.id.clone(),
        item_id: p.item_id.clone(),
        tier_id: p.tier_id.clone(),
        status: p.status,
        price: p.price,
        total: p.total,
        points_used: p.points_used,
        order_ref: format!("preorder:{}", p.id),
        hold_expires_at: p.hold_expires_at.clone(),
        created_at: p.created_at.clone(),
        confirmed_at: p.confirmed_at.clone(),
        fulfilled_at: p.fulfilled_at.clone(),
        cancelled_at: p.cancelled_at.clone(),
        refund,
        bonuses,
        pending_upgrade,
    })
}

fn own(sql: &dyn Sql, member_id: &str, id: &str) -> Result<Preorder, PreorderError> {
    store::preorder(sql, id)?
        .filter(|p| p.member_id == member_id)
        .ok_or(PreorderError::NotFound)
}

/// `GET /preorders/{id}` for its member.
pub fn read(
    env: &PreorderEnv<'_>,
    member_id: &str,
    id: &str,
) -> Result<PreorderView, PreorderError> {
    let p = own(env.sql, member_id, id)?;
    Ok(view(env.sql, &p, env.clock.now())?)
}

fn tier_id_of(raw: &str) -> Result<String, PreorderError> {
    Ok(Id::parse(raw, "tier_id")?.to_text())
}

/// Points of `member_id` spendable now and not held by a live checkout
/// reservation or preorder.
fn free_points(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    random: &dyn Random,
    member_id: &str,
) -> Result<i64, StoreError> {
    ledger::refresh_member(tx, now, random, member_id)?;
    let available = ledger::balance(tx, member_id)?.available;
    Ok(available - crate::promo::checkout::held_points(tx, member_id, now)?)
}

/// Why a confirmation could not spend the points.
pub(crate) struct Unpayable;

/// Confirms `p` (its unit already counted as sold by the caller): spends
/// its points, commits its points hold, records the payment.
pub(crate) fn confirm_in(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    random: &dyn Random,
    p: &Preorder,
    payment_id: Option<&str>,
    paid: i64,
    actor: &Actor,
) -> Result<Result<(), Unpayable>, StoreError> {
    let mut redemption: Option<String> = None;
    if p.points_used > 0 {
        let Some(b) = member::business(tx, &p.business_id)? else {
            return Ok(Err(Unpayable));
        };
        match crate::wallet::pos::spend_for_order(
            tx,
            now,
            random,
            actor,
            &p.member_id,
            &b,
            p.points_used,
            &format!("preorder:{}", p.id),
            Some(p.price),
        ) {
            Ok(id) => redemption = Some(id),
            Err(LedgerError::Insufficient { .. }) => return Ok(Err(Unpayable)),
            Err(LedgerError::Store(e)) => return Err(e),
        }
    }
    if let Some(rid) = &p.reservation_id {
        tx.execute(
            "UPDATE reservations SET status = 'committed', committed_at = ?, redemption_id = ? WHERE id = ?",
            &params![ts(now), redemption.as_deref(), rid.as_str()],
        )?;
    }
    tx.execute(
        "UPDATE preorders SET status = 'confirmed', paid_amount = ?, payment_id = ?, cancel_reason = NULL, \
         cancelled_at = NULL, confirmed_at = ?, updated_at = ? WHERE id = ?",
        &params![paid, payment_id, ts(now), ts(now), p.id.as_str()],
    )?;
    Ok(Ok(()))
}

/// `POST /preorders` → 201: takes a unit of the tier and holds the points
/// for [`HOLD_MINUTES`]; a preorder paid wholly with points is confirmed
/// at once.
pub fn place(
    env: &PreorderEnv<'_>,
    member_id: &str,
    raw: &RawOrder,
) -> Result<PreorderView, PreorderError> {
    let tier_id = tier_id_of(&raw.tier_id)?;
    let points = match raw.points {
        None => 0,
        Some(p) if p >= 0 => p,
        Some(_) => {
            return Err(
                InvalidValue::new("INVALID_FIELD", "points", "points must not be negative").into(),
            )
        }
    };
    let now = env.clock.now();
    immediate(env.sql, |tx| {
        let tier = store::tier(tx, &tier_id)?.ok_or(PreorderError::TierNotFound)?;
        let item = store::item(tx, &tier.item_id)?.ok_or(PreorderError::TierNotFound)?;
        if points > tier.final_price {
            return Err(InvalidValue::new(
                "INVALID_FIELD",
                "points",
                format!("at most the tier's price, {}", tier.final_price),
            )
            .into());
        }
        if !tier.on_sale(now, item.fields.release_at) {
            return Err(PreorderError::NotAvailable("this tier is not on sale now"));
        }
        let mine = tx
            .execute(
                "SELECT COUNT(*) AS n FROM preorders WHERE member_id = ? AND item_id = ? AND \
                 (status IN ('confirmed', 'early_access_active', 'fulfilled') \
                  OR (status = 'pending_payment' AND hold_expires_at > ?))",
                &params![member_id, item.id.as_str(), ts(now)],
            )?
            .first()
            .map_or(Ok(0), |r| r.i64("n"))?;
        if mine >= item.fields.per_member_limit {
            return Err(PreorderError::LimitExceeded {
                limit: item.fields.per_member_limit,
            });
        }
        if points > 0 {
            let free = free_points(tx, now, env.random, member_id)?;
            if free < points {
                return Err(PreorderError::InsufficientPoints {
                    available: free.max(0),
                });
            }
        }
        if !store::take_held(tx, &tier.id)? {
            return Err(PreorderError::SoldOut);
        }
        let id = Id::at(now, env.random).to_text();
        let order_ref = format!("preorder:{id}");
        let expires = now + Duration::minutes(HOLD_MINUTES);
        let total = tier.final_price - points;
        let reservation_id = if points > 0 {
            let rid = Id::at(now, env.random).to_text();
            tx.execute(
                "INSERT INTO reservations (id, member_id, business_id, order_ref, channel, status, subtotal, \
                 discount_total, points_applied, total, quote, created_at, expires_at) \
                 VALUES (?, ?, ?, ?, 'preorder', 'held', ?, 0, ?, ?, '{}', ?, ?)",
                &params![
                    rid.as_str(),
                    member_id,
                    item.business_id.as_str(),
                    order_ref.as_str(),
                    tier.final_price,
                    points,
                    total,
                    ts(now),
                    ts(expires)
                ],
            )?;
            Some(rid)
        } else {
            None
        };
        tx.execute(
            "INSERT INTO preorders (id, item_id, tier_id, member_id, business_id, status, price, points_used, total, \
             reservation_id, hold_expires_at, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, 'pending_payment', ?, ?, ?, ?, ?, ?, ?)",
            &params![
                id.as_str(),
                item.id.as_str(),
                tier.id.as_str(),
                member_id,
                item.business_id.as_str(),
                tier.final_price,
                points,
                total,
                reservation_id.as_deref(),
                ts(expires),
                ts(now),
                ts(now)
            ],
        )?;
        let mut p = store::preorder(tx, &id)?.ok_or(PreorderError::NotFound)?;
        if total == 0 {
            // Nothing to pay through the provider: confirmed now.
            let actor = Actor {
                role: "member",
                id: Some(member_id.to_string()),
            };
            if confirm_in(tx, now, env.random, &p, None, 0, &actor)?.is_err() {
                return Err(PreorderError::InsufficientPoints { available: 0 });
            }
            store::shift(tx, &tier.id, -1, 1)?;
            p = store::preorder(tx, &id)?.ok_or(PreorderError::NotFound)?;
        }
        Ok(view(tx, &p, now)?)
    })
}

/// `POST /preorders/{id}/upgrade` → 201: holds a unit of the dearer tier
/// until the difference is paid with `preorder-upgrade:<upgrade id>`; the
/// preorder keeps its unit of the old tier until then.
pub fn upgrade(
    env: &PreorderEnv<'_>,
    member_id: &str,
    id: &str,
    raw: &RawUpgrade,
) -> Result<UpgradeView, PreorderError> {
    let to_id = tier_id_of(&raw.tier_id)?;
    let now = env.clock.now();
    immediate(env.sql, |tx| {
        let p = own(tx, member_id, id)?;
        let to = store::tier(tx, &to_id)?.ok_or(PreorderError::TierNotFound)?;
        if to.item_id != p.item_id {
            return Err(PreorderError::InvalidUpgrade(
                "the tier belongs to another item",
            ));
        }
        let Some(amount) = rules::upgrade_cost(p.price, to.final_price) else {
            return Err(PreorderError::InvalidUpgrade(
                "only a dearer tier is an upgrade; downgrades are refused",
            ));
        };
        if !p.status.is_paid_live() {
            return Err(PreorderError::NotAvailable(
                "only a paid, unfulfilled preorder can be upgraded",
            ));
        }
        let item = store::item(tx, &p.item_id)?.ok_or(PreorderError::NotFound)?;
        if !to.on_sale(now, item.fields.release_at) {
            return Err(PreorderError::NotAvailable("this tier is not on sale now"));
        }
        let pending = tx.execute(
            "SELECT id, to_tier_id, hold_expires_at FROM preorder_upgrades WHERE preorder_id = ? AND status = 'pending_payment'",
            &params![p.id.as_str()],
        )?;
        for u in pending.iter() {
            if u.text("hold_expires_at")? > ts(now) {
                return Err(PreorderError::NotAvailable(
                    "an upgrade of this preorder awaits payment",
                ));
            }
            // A lapsed one the job has not reached yet: free its unit now.
            tx.execute(
                "UPDATE preorder_upgrades SET status = 'expired' WHERE id = ? AND status = 'pending_payment'",
                &params![u.text("id")?],
            )?;
            if tx.changes()? == 1 {
                store::shift(tx, &u.text("to_tier_id")?, -1, 0)?;
            }
        }
        if !store::take_held(tx, &to.id)? {
            return Err(PreorderError::SoldOut);
        }
        let uid = Id::at(now, env.random).to_text();
        tx.execute(
            "INSERT INTO preorder_upgrades (id, preorder_id, from_tier_id, to_tier_id, amount, status, hold_expires_at, created_at) \
             VALUES (?, ?, ?, ?, ?, 'pending_payment', ?, ?)",
            &params![
                uid.as_str(),
                p.id.as_str(),
                p.tier_id.as_str(),
                to.id.as_str(),
                amount,
                ts(now + Duration::minutes(HOLD_MINUTES)),
                ts(now)
            ],
        )?;
        let rows = tx.execute(
            "SELECT id, preorder_id, from_tier_id, to_tier_id, amount, status, hold_expires_at, created_at \
             FROM preorder_upgrades WHERE id = ?",
            &params![uid.as_str()],
        )?;
        let row = rows.first().ok_or(PreorderError::NotFound)?;
        Ok(upgrade_view(row)?)
    })
}

/// Frees the unit and points hold of an unpaid preorder (the caller has
/// moved its status).
pub(crate) fn release_hold(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    p: &Preorder,
) -> Result<(), StoreError> {
    store::shift(tx, &p.tier_id, -1, 0)?;
    if let Some(rid) = &p.reservation_id {
        tx.execute(
            "UPDATE reservations SET status = 'released', released_at = ? WHERE id = ? AND status = 'held'",
            &params![ts(now), rid.as_str()],
        )?;
    }
    Ok(())
}

/// Cancels the pending upgrades of a preorder, freeing their units.
pub(crate) fn drop_upgrades(tx: &dyn Sql, preorder_id: &str) -> Result<(), StoreError> {
    let rows = tx.execute(
        "SELECT id, to_tier_id FROM preorder_upgrades WHERE preorder_id = ? AND status = 'pending_payment'",
        &params![preorder_id],
    )?;
    for u in rows.iter() {
        tx.execute(
            "UPDATE preorder_upgrades SET status = 'cancelled' WHERE id = ? AND status = 'pending_payment'",
            &params![u.text("id")?],
        )?;
        if tx.changes()? == 1 {
            store::shift(tx, &u.text("to_tier_id")?, -1, 0)?;
        }
    }
    Ok(())
}

/// `POST /preorders/{id}/cancel` by its member: an unpaid one is cancelled
/// and its hold freed; a paid one is refunded by the item's policy at
/// `now` — the percent applies to each payment (the order's and every paid
/// upgrade's, each rounded half up) and to the points used — the refund is
/// recorded as due from the partner, the points come back as a ledger
/// entry, the unit returns to the tier. Once only.
pub fn cancel(
    env: &PreorderEnv<'_>,
    member_id: &str,
    id: &str,
    ttl_days: i64,
) -> Result<PreorderView, PreorderError> {
    let now = env.clock.now();
    immediate(env.sql, |tx| {
        let p = own(tx, member_id, id)?;
        match p.status {
            Status::Cancelled | Status::Refunded => {
                return Err(PreorderError::RefundAlreadyProcessed)
            }
            Status::Fulfilled => return Err(PreorderError::RefundNotEligible),
            Status::PendingPayment => {
                tx.execute(
                    "UPDATE preorders SET status = 'cancelled', cancel_reason = 'member', cancelled_at = ?, \
                     refund_amount = 0, points_returned = 0, updated_at = ? WHERE id = ? AND status = 'pending_payment'",
                    &params![ts(now), ts(now), p.id.as_str()],
                )?;
                if tx.changes()? != 1 {
                    return Err(PreorderError::RefundAlreadyProcessed);
                }
                release_hold(tx, now, &p)?;
                let p = store::preorder(tx, id)?.ok_or(PreorderError::NotFound)?;
                return Ok(view(tx, &p, now)?);
            }
            Status::Confirmed | Status::EarlyAccessActive => {}
        }
        let item = store::item(tx, &p.item_id)?.ok_or(PreorderError::NotFound)?;
        let Some((term, percent)) = item.fields.policy.at(now) else {
            return Err(PreorderError::RefundDeadlinePassed);
        };
        // Each payment refunded by the same percent, rounded once.
        let mut payments: Vec<(Option<String>, i64, &'static str)> =
            vec![(p.payment_id.clone(), p.paid_amount, "cancelled")];
        for u in tx
            .execute(
                "SELECT payment_id, amount FROM preorder_upgrades WHERE preorder_id = ? AND status = 'paid' ORDER BY created_at",
                &params![p.id.as_str()],
            )?
            .iter()
        {
            payments.push((u.opt_text("payment_id")?, u.i64("amount")?, "cancelled_upgrade"));
        }
        let money: i64 = payments
            .iter()
            .map(|(_, a, _)| rules::percent_of(*a, percent))
            .sum();
        let points_back = rules::percent_of(p.points_used, percent);
        let status = if money + points_back > 0 {
            Status::Refunded
        } else {
            Status::Cancelled
        };
        let term_name = match term {
            RefundTerm::Full => "full",
            RefundTerm::Partial => "partial",
            RefundTerm::None | RefundTerm::Unpaid => "none",
        };
        tx.execute(
            "UPDATE preorders SET status = ?, cancel_reason = ?, cancelled_at = ?, refund_amount = ?, \
             points_returned = ?, updated_at = ? WHERE id = ? AND status IN ('confirmed', 'early_access_active')",
            &params![
                status.as_str(),
                term_name,
                ts(now),
                money,
                points_back,
                ts(now),
                p.id.as_str()
            ],
        )?;
        if tx.changes()? != 1 {
            return Err(PreorderError::RefundAlreadyProcessed);
        }
        store::shift(tx, &p.tier_id, 0, -1)?;
        drop_upgrades(tx, &p.id)?;
        for (payment_id, amount, reason) in &payments {
            store::refund_due(
                tx,
                now,
                env.random,
                &p.id,
                &p.business_id,
                &p.member_id,
                rules::percent_of(*amount, percent),
                reason,
                payment_id.as_deref(),
            )?;
        }
        if points_back > 0 {
            ledger::credit(
                tx,
                now,
                env.random,
                &Posting {
                    member_id: &p.member_id,
                    business_id: Some(&p.business_id),
                    cause_type: CauseType::Reward,
                    cause_id: &p.id,
                    actor: &Actor {
                        role: "member",
                        id: Some(member_id.to_string()),
                    },
                    reason: Some("preorder cancelled"),
                    description: Some("Points back for a cancelled preorder"),
                },
                EntryKind::Reward,
                points_back,
                None,
                now,
                ttl_days,
            )?;
        }
        let p = store::preorder(tx, id)?.ok_or(PreorderError::NotFound)?;
        Ok(view(tx, &p, now)?)
    })
}
