//! `analytics-ingest`: partner sales as a JSON batch
//! (`/api/v1/ingest/transactions`) or a CSV upload
//! (`/api/v1/ingest/transactions.csv`), members' app events
//! (`/api/v1/ingest/events`), each business's CRM integration with its
//! manual sync and run history (`/api/v1/admin/businesses/{id}/integration`),
//! and the alerts of failing integrations (`/api/v1/admin/alerts`).
//!
//! Every rule lives in `krug_core::ingest`; this crate routes, checks who
//! may act for which business, reads the body and maps.

use krug_spin_adapter::{routes, ApiError, Ctx, Limits, Req};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

mod handlers;

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    // The CSV upload's limit; the JSON routes check the default one.
    let limits = Limits {
        max_body: Limits::CSV_BODY,
    };
    krug_spin_adapter::serve("analytics-ingest", req, limits, route).await
}

fn route(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    routes!(req, req.segments().as_slice(), {
        ["api", "v1", "ingest", "transactions"] => { POST => handlers::transactions(ctx, req) },
        ["api", "v1", "ingest", "transactions.csv"] => { POST => handlers::transactions_csv(ctx, req) },
        ["api", "v1", "ingest", "events"] => { POST => handlers::events(ctx, req) },
        ["api", "v1", "admin", "alerts"] => { GET => handlers::alerts(ctx, req) },
        ["api", "v1", "admin", "businesses", id, "integration"] => {
            GET => handlers::integration(ctx, req, id),
            PUT => handlers::configure(ctx, req, id),
        },
        ["api", "v1", "admin", "businesses", id, "integration", "sync"] => { POST => handlers::sync(ctx, req, id) },
        ["api", "v1", "admin", "businesses", id, "integration", "sync-runs"] => { GET => handlers::runs(ctx, req, id) },
    })
}
