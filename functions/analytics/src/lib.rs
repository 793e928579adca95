//! `analytics`: the partner reports under
//! `/api/v1/analytics/businesses/{id}/...`, the club dashboard
//! (`/api/v1/analytics/club`) and the Prometheus exposition (`/metrics`).
//!
//! Every definition lives in `krug_core::analytics`; this crate routes,
//! checks who may see what, parses the period and maps. The CSV export is
//! streamed page by page.

use krug_spin_adapter::{routes, serve_streaming, ApiError, Ctx, Limits, Outcome, Req};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

mod handlers;

#[http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    serve_streaming("analytics", req, out, Limits::default(), route).await;
}

fn route<'c>(ctx: &'c Ctx, req: &'c Req) -> Result<Outcome<'c>, ApiError> {
    let segments = req.segments();
    if let ["api", "v1", "analytics", "businesses", id, "export"] = segments.as_slice() {
        return routes!(req, segments.as_slice(), {
            [..] => { GET => handlers::export(ctx, req, id) },
        });
    }
    let full = match segments.as_slice() {
        ["metrics"] => routes!(req, segments.as_slice(), {
            ["metrics"] => { GET => handlers::metrics(ctx, req) },
        }),
        ["api", "v1", "analytics", rest @ ..] => routes!(req, rest, {
            ["club"] => { GET => handlers::club(ctx, req) },
            ["businesses", id, "overview"] => { GET => handlers::overview(ctx, req, id) },
            ["businesses", id, "customer-sources"] => { GET => handlers::sources(ctx, req, id) },
            ["businesses", id, "customer-destinations"] => { GET => handlers::destinations(ctx, req, id) },
            ["businesses", id, "win-win-chains"] => { GET => handlers::chains(ctx, req, id) },
            ["businesses", id, "rfm-segments"] => { GET => handlers::rfm(ctx, req, id) },
            ["businesses", id, "churn-risk"] => { GET => handlers::churn(ctx, req, id) },
        }),
        _ => Err(ApiError::route_not_found(req)),
    };
    full.map(Outcome::Full)
}
