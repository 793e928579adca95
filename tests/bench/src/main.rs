//! `floor [addr]`: a native hyper HTTP/1.1 server that answers every request
//! with the same small JSON body as the health route. It is the best a
//! server on this machine can do, so host numbers are reported against it.

use std::{convert::Infallible, net::SocketAddr};

use http_body_util::Full;
use hyper::{body::Bytes, server::conn::http1, service::service_fn, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3900".into())
        .parse()
        .expect("address like 127.0.0.1:3900");
    let listener = TcpListener::bind(addr).await?;
    println!("Serving http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let service = service_fn(|_req: Request<hyper::body::Incoming>| async {
                Ok::<_, Infallible>(
                    Response::builder()
                        .header("content-type", "application/json; charset=utf-8")
                        .body(Full::new(Bytes::from_static(
                            br#"{"status":"ok","schema_version":2}"#,
                        )))
                        .expect("static response"),
                )
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
