#!/usr/bin/env python3
"""Generates a year of club purchases straight into a migrated Krug
database, for the analytics benchmark:

    scripts/gen_purchases.py DB [--purchases 1000000] [--businesses 50] [--members 20000]

Each member has a handful of favourite partners (two of the fifty are
medical) and buys at them at random moments of the last 365 days; amounts
are spread from 300 ₽ to 30 000 ₽; one purchase in ten is ecosystem-
engaged. Rows are what the purchase pipeline writes (points left at zero);
the rollups are not written here — run the `rebuild-analytics` job, which
is part of what the benchmark measures. Deterministic for a given seed.
"""
import argparse
import random
import sqlite3
import time
import uuid

CATEGORIES = ["beauty", "cosmetology", "gastronomy", "floristry", "optics", "home", "legal", "dentistry", "medicine"]
TIERS = ["insider"] * 14 + ["vip"] * 4 + ["elite"] + ["inner_circle"]


def stamp(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06dZ" % int((t % 1) * 1_000_000)


def uid(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def generate(db_path, purchases, businesses, members, seed=7):
    rng = random.Random(seed)
    now = time.time()
    created = stamp(now - 400 * 86_400)
    db = sqlite3.connect(db_path, timeout=60)
    db.execute("PRAGMA synchronous = OFF")
    biz = []
    for i in range(businesses):
        medical = i < 2
        category = "dentistry" if i == 0 else "medicine" if i == 1 else CATEGORIES[i % 7]
        biz.append((uid(rng), f"Партнёр {i + 1}", category, 1 if medical else 0))
    db.executemany("INSERT INTO businesses (id, name, category, medical, created_at) VALUES (?, ?, ?, ?, ?)",
                   [(b[0], b[1], b[2], b[3], created) for b in biz])
    names = ["Анна", "Мария", "Елена", "Ольга", "Наталья", "Ирина", "Светлана", "Татьяна"]
    mem = [uid(rng) for _ in range(members)]
    db.executemany("INSERT INTO members (id, first_name, tier, created_at) VALUES (?, ?, ?, ?)",
                   [(m, names[i % len(names)], TIERS[i % len(TIERS)], created) for i, m in enumerate(mem)])
    db.executemany("INSERT INTO member_balances (member_id, available, pending, updated_at) VALUES (?, ?, ?, ?)",
                   [(m, rng.randrange(0, 500_000), rng.randrange(0, 50_000), created) for m in mem])
    favourites = [rng.sample(range(businesses), rng.randrange(3, 12)) for _ in mem]
    batch = []
    written = 0
    for n in range(purchases):
        mi = rng.randrange(members)
        b = biz[rng.choice(favourites[mi])]
        at = stamp(now - rng.random() * 365 * 86_400)
        amount = int(30_000 * (100 ** rng.random()))
        # Cheap unique ids in UUID form: the counter in the last group.
        batch.append((f"{seed:08x}-0000-4000-8000-{n:012x}", mem[mi], b[0], amount, b[2], 1 if (not b[3] and rng.random() < 0.1) else 0, at, at))
        if len(batch) == 50_000 or n == purchases - 1:
            db.executemany(
                "INSERT INTO purchases (id, member_id, business_id, source, amount, category, tier_at_purchase, "
                "first_in_category, points_computed, points_earned, actor_role, ecosystem_engaged, paid_at, created_at) "
                "VALUES (?, ?, ?, 'pos', ?, ?, 'insider', 0, 0, 0, 'api_key', ?, ?, ?)", batch)
            written += len(batch)
            batch = []
    db.commit()
    db.close()
    return [b[0] for b in biz], written


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db")
    ap.add_argument("--purchases", type=int, default=1_000_000)
    ap.add_argument("--businesses", type=int, default=50)
    ap.add_argument("--members", type=int, default=20_000)
    args = ap.parse_args()
    started = time.time()
    _, n = generate(args.db, args.purchases, args.businesses, args.members)
    print(f"{n} purchases in {time.time() - started:.1f} s")


if __name__ == "__main__":
    main()
