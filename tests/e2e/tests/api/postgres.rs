//! Two hosts, one PostgreSQL database: what two Spin replicas of the app
//! behind one load balancer do. Both hosts are child processes with their
//! own state (key-value, compiled components) and the same settings; the
//! races are split across them and must come out exactly as on one host.

use std::{collections::HashMap, path::PathBuf, time::Duration};

use krug_e2e::{
    postgres_variables,
    process::{self, HostProcess, HostSpec},
    spawn_auth_app_with, Cast, Client, Club,
};
use serde_json::json;

const HOST_TEST: &str = "postgres::host_process";
const SECRET: &str = "whsec_two_hosts";

/// Not a test of its own: the body of the child hosts started below (it
/// returns at once anywhere else).
#[test]
#[ignore = "the two-hosts test's child host; does nothing unless it starts it"]
fn host_process() {
    process::serve_if_child();
}

fn child(variables: &HashMap<String, String>, state: &std::path::Path, n: u32) -> HostProcess {
    let spec = HostSpec {
        test_name: HOST_TEST.to_string(),
        state_dir: state.join(format!("host-{n}")),
        addr: process::free_addr(),
        variables: variables.clone(),
        log: state.join(format!("host-{n}.log")),
        lifetime: Duration::from_secs(900),
        compiled_cache: Some(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("two-hosts-compiled")),
    };
    HostProcess::start(spec, Duration::from_secs(180)).expect("child host starts")
}

#[test]
fn two_hosts_on_one_postgres_database_split_the_redemption_race_and_the_webhook_storm() {
    let url = krug_core::native::TestServer::shared().fresh_database();
    let mut settings = postgres_variables(&url);
    settings.insert("payments_webhook_secret".into(), SECRET.into());
    // The club is set up through an in-process host on the same database.
    let c = Club::open(
        spawn_auth_app_with(settings),
        &Cast {
            a: ("Salon A", "beauty"),
            b: ("Bistro B", "gastronomy"),
            role: "manager",
            phones: ["+79165550002", "+79165550003", "+79165550001"],
        },
    );
    let app = &c.app;
    assert_eq!(app.postgres_url.as_deref(), Some(url.as_str()));
    let card = app.card_number(&c.member);
    let gift = app
        .client
        .post("/api/v1/pos/compensations")
        .bearer(&c.key_a)
        .header("idempotency-key", "seed")
        .json(&json!({ "member": { "card_number": card }, "points": 500, "reason": "goodwill", "order_ref": "seed" }))
        .send();
    assert_eq!(gift.status, 201, "{}", gift.text());
    let qr = app
        .client
        .get("/api/v1/wallet/qr")
        .bearer(&c.member.access)
        .send();
    assert_eq!(qr.status, 200, "{}", qr.text());
    let token = qr.json()["token"].as_str().unwrap().to_string();

    let state = tempfile::tempdir().unwrap();
    let hosts = [
        child(&app.variables, state.path(), 1),
        child(&app.variables, state.path(), 2),
    ];
    let clients = [Client::new(hosts[0].addr()), Client::new(hosts[1].addr())];

    // 100 redemptions of 10 points against 500, half through each host.
    let results = krug_e2e::redeem_burst(&clients, &c.key_a, &token, 100, 10);
    let statuses: Vec<u16> = results.iter().map(|r| r.status).collect();
    let (ok, short) = krug_e2e::redemption_tally(&results);
    assert_eq!((ok, short), (50, 50), "{statuses:?}");
    assert_eq!(app.count("SELECT COUNT(*) FROM redemptions"), 50);
    let wallet = clients[1]
        .get("/api/v1/wallet")
        .bearer(&c.member.access)
        .send();
    assert_eq!(wallet.status, 200, "{}", wallet.text());
    assert_eq!(wallet.json()["balance"]["available"], 0);

    // One payment event delivered 50 times at once, alternating hosts.
    let body = json!({
        "id": "evt_two_hosts", "type": "payment.succeeded", "created": krug_e2e::unix_now(),
        "data": { "payment_id": "pay_two_hosts", "order_ref": "o-two-hosts", "business_id": c.a,
                  "amount": 50_000, "currency": "RUB", "member_id": c.member.member_id }
    })
    .to_string();
    let mut outcomes: HashMap<String, usize> = HashMap::new();
    for r in krug_e2e::deliver_generic_burst(&clients, SECRET, &body, 50) {
        assert_eq!(r.status, 200, "{}", r.text());
        *outcomes
            .entry(r.json()["status"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(outcomes.get("processed"), Some(&1), "{outcomes:?}");
    assert_eq!(outcomes.get("duplicate"), Some(&49), "{outcomes:?}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM purchases WHERE external_id = 'pay_two_hosts'"),
        1
    );
    assert_eq!(
        app.count("SELECT count FROM webhook_counters WHERE outcome = 'duplicate'"),
        49
    );
    app.assert_ledger_sound();
}
