//! The JSON-RPC service over HTTP/1.1 on a loopback port, so that `cast`, ethers.js and any
//! other Ethereum tool can talk to the embedded chain.

use std::convert::Infallible;
use std::net::SocketAddr;

use alloy_json_rpc::{
    ErrorPayload, Id, Request, RequestPacket, Response, ResponsePacket, ResponsePayload,
    SerializedRequest,
};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::rpc_service::RpcService;

/// Request bodies above this are refused (a deployment of a 24 KiB contract is ~50 KiB hex).
const MAX_BODY: usize = 4 << 20;

/// A running endpoint; dropping it stops accepting connections.
pub struct HttpServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl HttpServer {
    /// Binds `addr` (use port 0 for a free one) and serves `service` on the current tokio
    /// runtime.
    pub async fn bind(addr: SocketAddr, service: RpcService) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let service = service.clone();
                tokio::spawn(async move {
                    let handler = service_fn(move |req| {
                        let service = service.clone();
                        async move { Ok::<_, Infallible>(handle(&service, req).await) }
                    });
                    // A client that hangs up mid-request is its own problem, not the chain's.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), handler)
                        .await;
                });
            }
        });
        Ok(Self { addr, task })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type HttpResponse = hyper::Response<Full<Bytes>>;

async fn handle(service: &RpcService, req: hyper::Request<Incoming>) -> HttpResponse {
    if req.method() != Method::POST {
        return reply(
            StatusCode::METHOD_NOT_ALLOWED,
            b"POST JSON-RPC requests\n".to_vec(),
        );
    }
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return reply(StatusCode::PAYLOAD_TOO_LARGE, b"body too large\n".to_vec()),
    };
    let body = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(items)) => {
            let (ok, bad): (Vec<_>, Vec<_>) = items.into_iter().map(parse).partition(Result::is_ok);
            let mut responses: Vec<Response> = bad.into_iter().filter_map(Result::err).collect();
            let packet = RequestPacket::Batch(ok.into_iter().filter_map(Result::ok).collect());
            if let ResponsePacket::Batch(r) = service.handle_packet(packet) {
                responses.extend(r);
            }
            serde_json::to_vec(&responses)
        }
        Ok(item) => match parse(item) {
            Ok(req) => match service.handle_packet(RequestPacket::Single(req)) {
                ResponsePacket::Single(r) => serde_json::to_vec(&r),
                ResponsePacket::Batch(r) => serde_json::to_vec(&r),
            },
            Err(resp) => serde_json::to_vec(&resp),
        },
        Err(_) => serde_json::to_vec(&failure(Id::None, ErrorPayload::parse_error())),
    };
    match body {
        Ok(b) => reply(StatusCode::OK, b),
        Err(e) => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            e.to_string().into_bytes(),
        ),
    }
}

/// One JSON-RPC request object → the packet form the service takes, or the error response.
fn parse(item: Value) -> Result<SerializedRequest, Response> {
    let id: Id = item
        .get("id")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or(Id::None);
    let Some(method) = item.get("method").and_then(Value::as_str) else {
        return Err(failure(id, ErrorPayload::invalid_request()));
    };
    let params = item.get("params").cloned().unwrap_or(Value::Array(vec![]));
    let params: Box<RawValue> = serde_json::value::to_raw_value(&params)
        .map_err(|_| failure(id.clone(), ErrorPayload::invalid_params()))?;
    SerializedRequest::try_from(Request::new(method.to_owned(), id.clone(), params))
        .map_err(|_| failure(id, ErrorPayload::invalid_request()))
}

fn failure(id: Id, error: ErrorPayload) -> Response {
    Response {
        id,
        payload: ResponsePayload::Failure(error),
    }
}

fn reply(status: StatusCode, body: Vec<u8>) -> HttpResponse {
    let mut resp = hyper::Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}
