//! The HTTP trigger: hyper accepts connections, the router picks the
//! component, each request gets a fresh instance from the pool.

use std::{net::SocketAddr, sync::Arc, time::Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use tokio::net::TcpListener;
use wasmtime::Store;
use wasmtime_wasi_http::{
    io::TokioIo as WasiTokioIo,
    p2::{bindings::http::types::Scheme, body::HyperOutgoingBody},
    WasiHttpView as _,
};

use crate::{app::App, cron_bindings::fermyon::spin_cron::cron_types::Metadata};

fn json_error(status: StatusCode, code: &str, message: &str) -> Response<HyperOutgoingBody> {
    let body = serde_json::json!({ "error": { "code": code, "message": message } }).to_string();
    Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8")
        .body(
            Full::new(Bytes::from(body))
                .map_err(|never| match never {})
                .boxed_unsync(),
        )
        .expect("static response")
}

fn log_error(component: &str, method: &str, path: &str, err: &anyhow::Error) {
    eprintln!(
        "{}",
        serde_json::json!({
            "level": "error",
            "host": "http",
            "component": component,
            "method": method,
            "path": path,
            "error": format!("{err:#}"),
        })
    );
}

// One stats line per finished request, when the host was asked for them.
fn record_stats(
    app: &App,
    component: &str,
    route: &str,
    started: Instant,
    stats: &crate::stores::SqlStats,
) {
    use std::{io::Write as _, sync::atomic::Ordering::Relaxed};
    let Some(sink) = &app.stats else { return };
    let line = serde_json::json!({
        "component": component,
        "route": route,
        "total_us": u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "sql_statements": stats.statements.load(Relaxed),
        "sql_busy": stats.busy.load(Relaxed),
        "sql_us": stats.sql_us.load(Relaxed),
        "first_statement_us": stats.first_us.load(Relaxed),
    });
    if let Ok(mut file) = sink.lock() {
        let _ = writeln!(file, "{line}");
    }
}

/// Serves one request.
pub async fn handle(
    app: Arc<App>,
    client: SocketAddr,
    mut req: Request<Incoming>,
) -> Response<HyperOutgoingBody> {
    let started = Instant::now();
    let path = req.uri().path().to_string();
    let method = req.method().to_string();
    let Some(matched) = app.router.route(&path) else {
        return json_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            &format!("no route for {method} {path}"),
        );
    };
    let component_id = matched.component.to_string();
    let Some(component) = app.http.get(&component_id) else {
        return json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "route has no component",
        );
    };

    // The headers Spin adds for the guest.
    let host = req
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_string();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| path.clone());
    let mut spin_headers = vec![
        ("spin-full-url", format!("http://{host}{path_and_query}")),
        ("spin-path-info", matched.path_info.clone()),
        ("spin-matched-route", matched.pattern.to_string()),
        ("spin-raw-component-route", matched.pattern.to_string()),
        ("spin-component-route", matched.component_route.clone()),
        ("spin-base-path", "/".to_string()),
        ("spin-client-addr", client.to_string()),
    ];
    let params: Vec<(String, String)> = matched
        .params
        .iter()
        .map(|(k, v)| (format!("spin-path-match-{k}"), v.clone()))
        .collect();
    let headers = req.headers_mut();
    for (name, value) in spin_headers.drain(..) {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
    for (name, value) in params {
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.insert(n, v);
        }
    }

    let mut store = Store::new(&app.engine, app.state(&component.env));
    let sql_stats = store.data().sql_stats();
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let prepared = (|| -> Result<_> {
        let incoming = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, req)?;
        let out = store.data_mut().http().new_response_outparam(sender)?;
        Ok((incoming, out))
    })();
    let (incoming, out) = match prepared {
        Ok(p) => p,
        Err(e) => {
            log_error(&component_id, &method, &path, &e);
            return json_error(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "request could not be read",
            );
        }
    };
    let pre = component.pre.clone();
    let stats_app = app.clone();
    let route = matched.pattern.to_string();
    let stats_component = component_id.clone();
    let task = tokio::task::spawn(async move {
        let proxy = pre.instantiate_async(&mut store).await?;
        let result = proxy
            .wasi_http_incoming_handler()
            .call_handle(&mut store, incoming, out)
            .await;
        // The guest is done (body streamed): its SQLite figures are final.
        record_stats(&stats_app, &stats_component, &route, started, &sql_stats);
        result
    });
    let response = match receiver.await {
        Ok(Ok(resp)) => resp,
        Ok(Err(e)) => {
            log_error(
                &component_id,
                &method,
                &path,
                &anyhow::anyhow!("guest set an error response: {e:?}"),
            );
            json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "internal error",
            )
        }
        Err(_) => {
            let err = match task.await {
                Ok(Ok(())) => anyhow::anyhow!("guest returned without setting a response"),
                Ok(Err(e)) => anyhow::Error::from(e),
                Err(e) => anyhow::Error::from(e),
            };
            log_error(&component_id, &method, &path, &err);
            json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "internal error",
            )
        }
    };
    if std::env::var_os("KRUG_HOST_TRACE").is_some() {
        eprintln!(
            "{}",
            serde_json::json!({
                "host": "http", "component": component_id, "method": method, "path": path,
                "status": response.status().as_u16(), "ms": started.elapsed().as_secs_f64() * 1000.0,
            })
        );
    }
    response
}

/// Accepts connections on `listener` until the task is dropped.
pub async fn serve(app: Arc<App>, listener: TcpListener) -> Result<()> {
    loop {
        let (stream, client) = listener.accept().await.context("accept")?;
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let app = app.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(app, client, req).await) }
            });
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(WasiTokioIo::new(stream), service)
                .await;
        });
    }
}

/// Runs `component`'s `handle-cron-event` once, now.
pub async fn fire_cron(app: &App, component: &str) -> Result<()> {
    let cron = app
        .cron
        .get(component)
        .with_context(|| format!("no cron trigger for component {component:?}"))?;
    let mut store = Store::new(&app.engine, app.state(&cron.env));
    let instance = cron.pre.instantiate_async(&mut store).await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let result = instance
        .call_handle_cron_event(&mut store, Metadata { timestamp: now })
        .await?;
    result.map_err(|e| anyhow::anyhow!("cron component {component:?} failed: {e:?}"))
}

/// Fires every cron component on its schedule, forever.
pub async fn run_cron(app: Arc<App>) {
    let ids: Vec<String> = app.cron.keys().cloned().collect();
    for id in ids {
        let app = app.clone();
        tokio::spawn(async move {
            loop {
                let now = chrono::Utc::now();
                let Some(next) = app.cron[&id].schedule.next_after(now) else {
                    return;
                };
                let wait = (next - now).to_std().unwrap_or_default();
                tokio::time::sleep(wait).await;
                if let Err(e) = fire_cron(&app, &id).await {
                    eprintln!(
                        "{}",
                        serde_json::json!({"level": "error", "host": "cron", "component": id, "error": format!("{e:#}")})
                    );
                }
            }
        });
    }
}
