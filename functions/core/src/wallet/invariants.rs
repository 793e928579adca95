//! The ledger's invariants, and the promo counters' agreement with their
//! uses, as one function tests (unit, property and
//! end-to-end) call after any sequence of operations.

use crate::ports::{Sql, StoreError};

// Each query returns one row per violation: (member or row id, detail).
const CHECKS: &[(&str, &str)] = &[
    (
        "a balance is negative",
        "SELECT member_id, available || '/' || pending || '/' || debt FROM member_balances \
         WHERE available < 0 OR pending < 0 OR debt < 0",
    ),
    (
        "a lot's remainder is outside 0..=amount",
        "SELECT id, remaining || ' of ' || amount FROM point_lots WHERE remaining < 0 OR remaining > amount",
    ),
    (
        "a lot does not add up (amount = remaining + settled debt + allocations)",
        "SELECT l.id, l.amount || ' vs ' || (l.remaining + l.settled_debt + COALESCE(a.s, 0)) \
         FROM point_lots l LEFT JOIN (SELECT lot_id, SUM(amount) AS s FROM lot_allocations GROUP BY lot_id) a \
           ON a.lot_id = l.id \
         WHERE l.amount <> l.remaining + l.settled_debt + COALESCE(a.s, 0)",
    ),
    (
        "an expired lot still holds points",
        "SELECT id, remaining FROM point_lots WHERE status = 'expired' AND remaining <> 0",
    ),
    (
        "available/pending differ from the lots",
        "SELECT b.member_id, b.available || '/' || b.pending || ' vs lots ' || \
                COALESCE(l.av, 0) || '/' || COALESCE(l.pe, 0) \
         FROM member_balances b LEFT JOIN ( \
            SELECT member_id, SUM(CASE WHEN status = 'available' THEN remaining ELSE 0 END) AS av, \
                   SUM(CASE WHEN status = 'pending' THEN remaining ELSE 0 END) AS pe \
            FROM point_lots GROUP BY member_id) l ON l.member_id = b.member_id \
         WHERE b.available <> COALESCE(l.av, 0) OR b.pending <> COALESCE(l.pe, 0)",
    ),
    (
        "the sum of entries differs from available + pending - debt",
        "SELECT m.member_id, COALESCE(e.s, 0) || ' vs ' || \
                (COALESCE(b.available, 0) + COALESCE(b.pending, 0) - COALESCE(b.debt, 0)) \
         FROM (SELECT member_id FROM ledger_entries UNION SELECT member_id FROM member_balances) m \
         LEFT JOIN (SELECT member_id, SUM(amount) AS s FROM ledger_entries GROUP BY member_id) e \
           ON e.member_id = m.member_id \
         LEFT JOIN member_balances b ON b.member_id = m.member_id \
         WHERE COALESCE(e.s, 0) <> COALESCE(b.available, 0) + COALESCE(b.pending, 0) - COALESCE(b.debt, 0)",
    ),
    (
        "debt differs from clawbacks not covered by lots minus debt repaid",
        "SELECT b.member_id, b.debt || ' vs ' || (COALESCE(c.uncovered, 0) - COALESCE(r.repaid, 0)) \
         FROM member_balances b \
         LEFT JOIN (SELECT e.member_id, SUM(-e.amount - COALESCE(a.s, 0)) AS uncovered \
                    FROM ledger_entries e LEFT JOIN (SELECT entry_id, SUM(amount) AS s FROM lot_allocations \
                    GROUP BY entry_id) a ON a.entry_id = e.id \
                    WHERE e.kind = 'clawback' GROUP BY e.member_id) c ON c.member_id = b.member_id \
         LEFT JOIN (SELECT member_id, SUM(settled_debt) AS repaid FROM point_lots GROUP BY member_id) r \
           ON r.member_id = b.member_id \
         WHERE b.debt <> COALESCE(c.uncovered, 0) - COALESCE(r.repaid, 0)",
    ),
    (
        "a credit entry has no lot of its amount",
        "SELECT e.id, e.kind || ' ' || e.amount FROM ledger_entries e LEFT JOIN point_lots l ON l.entry_id = e.id \
         WHERE e.amount > 0 AND (l.id IS NULL OR l.amount <> e.amount OR l.member_id <> e.member_id)",
    ),
    (
        "a spend or expiry is not fully drawn from lots",
        "SELECT e.id, e.amount || ' vs ' || COALESCE(a.s, 0) FROM ledger_entries e \
         LEFT JOIN (SELECT entry_id, SUM(amount) AS s FROM lot_allocations GROUP BY entry_id) a ON a.entry_id = e.id \
         WHERE e.kind IN ('spend', 'expire') AND -e.amount <> COALESCE(a.s, 0)",
    ),
    (
        "an entry's kind and cause do not match",
        "SELECT id, kind || '/' || cause_type FROM ledger_entries WHERE NOT ( \
            (kind = 'earn' AND cause_type = 'purchase') OR \
            (kind = 'spend' AND cause_type IN ('redemption', 'admin')) OR \
            (kind = 'expire' AND cause_type = 'job') OR \
            (kind = 'clawback' AND cause_type IN ('refund', 'reward')) OR \
            (kind = 'compensation' AND cause_type = 'compensation') OR \
            (kind = 'adjust' AND cause_type = 'admin') OR \
            (kind = 'reward' AND cause_type = 'reward'))",
    ),
    (
        "an entry's cause cannot be found",
        "SELECT e.id, e.cause_type || ' ' || e.cause_id FROM ledger_entries e WHERE NOT CASE e.cause_type \
            WHEN 'purchase' THEN EXISTS (SELECT 1 FROM purchases p WHERE p.id = e.cause_id AND p.member_id = e.member_id) \
            WHEN 'refund' THEN EXISTS (SELECT 1 FROM refunds r JOIN purchases p ON p.id = r.purchase_id \
                                       WHERE r.id = e.cause_id AND p.member_id = e.member_id) \
            WHEN 'redemption' THEN EXISTS (SELECT 1 FROM redemptions r WHERE r.id = e.cause_id AND r.entry_id = e.id) \
            WHEN 'compensation' THEN EXISTS (SELECT 1 FROM compensations c WHERE c.id = e.cause_id AND c.entry_id = e.id) \
            WHEN 'job' THEN EXISTS (SELECT 1 FROM point_lots l WHERE l.id = e.cause_id AND l.member_id = e.member_id) \
            WHEN 'admin' THEN e.actor_id IS NOT NULL AND e.reason IS NOT NULL \
            WHEN 'reward' THEN e.cause_id <> '' \
            ELSE FALSE END",
    ),
    (
        "a purchase's points do not match its earn entry",
        "SELECT p.id, p.points_earned || ' vs ' || COALESCE(e.amount, 0) FROM purchases p \
         LEFT JOIN ledger_entries e ON e.cause_type = 'purchase' AND e.cause_id = p.id \
         WHERE p.points_earned <> COALESCE(e.amount, 0)",
    ),
    (
        "a promo's counter differs from its held and committed uses",
        "SELECT COALESCE(c.promo_id, u.promo_id), \
                COALESCE(c.uses, 0) || '/' || COALESCE(c.spent, 0) || ' vs ' || \
                COALESCE(u.n, 0) || '/' || COALESCE(u.d, 0) \
         FROM promo_counters c FULL JOIN ( \
            SELECT promo_id, COUNT(*) AS n, SUM(discount) AS d FROM promo_uses \
            WHERE status IN ('held', 'committed') GROUP BY promo_id) u ON u.promo_id = c.promo_id \
         WHERE COALESCE(c.uses, 0) <> COALESCE(u.n, 0) OR COALESCE(c.spent, 0) <> COALESCE(u.d, 0)",
    ),
];

/// Every violated invariant, as `"<what>: <id> (<detail>)"`; empty when the
/// ledger is sound. Checks: no negative balance; every lot's remainder in
/// `0..=amount` and its amount accounted for; balances equal their lots; the
/// sum of entries equals `available + pending − debt`; debt equals uncovered
/// clawbacks minus repayments; every entry's kind matches its cause and the
/// cause exists (purchase, refund, redemption, compensation, job lot, admin).
pub fn check(sql: &dyn Sql) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    for (what, query) in CHECKS {
        let rows = sql.execute(query, &[])?;
        for row in &rows.rows {
            let text = |i: usize| match row.get(i) {
                Some(crate::ports::SqlValue::Text(s)) => s.clone(),
                Some(other) => format!("{other:?}"),
                None => String::new(),
            };
            out.push(format!("{what}: {} ({})", text(0), text(1)));
        }
    }
    Ok(out)
}
