//! A small blocking HTTP client for a node's API.

use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder};
use reqwest::header::HeaderMap;
use serde_json::Value;

use super::error::{Error, Result};

/// The longest one request may take (a consortium read asks every holder, each bounded).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

pub fn client() -> Result<Client> {
    Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| Error::Http {
            what: "building the HTTP client".into(),
            detail: e.to_string(),
        })
}

/// One HTTP answer.
#[derive(Debug, Clone)]
pub struct Resp {
    /// `METHOD path`, for messages.
    pub request: String,
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Result<Value> {
        serde_json::from_str(&self.text).map_err(|e| Error::Http {
            what: self.request.clone(),
            detail: format!(
                "answer is not JSON ({e}), status {}: {}",
                self.status,
                clip(&self.text)
            ),
        })
    }

    /// The answer if its status is `status`, else an error showing the body.
    pub fn expect(self, status: u16) -> Result<Self> {
        if self.status == status {
            Ok(self)
        } else {
            Err(Error::Http {
                what: self.request.clone(),
                detail: format!(
                    "status {} (expected {status}): {}",
                    self.status,
                    clip(&self.text)
                ),
            })
        }
    }

    /// The JSON body of a `status` answer.
    pub fn expect_json(self, status: u16) -> Result<Value> {
        self.expect(status)?.json()
    }
}

/// At most 2,000 characters of `s`, for error messages.
pub fn clip(s: &str) -> String {
    match s.char_indices().nth(2000) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

pub(crate) fn send(
    req: RequestBuilder,
    what: String,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> Result<Resp> {
    let mut req = req;
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().map_err(|e| Error::Http {
        what: what.clone(),
        detail: e.to_string(),
    })?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().map_err(|e| Error::Http {
        what: what.clone(),
        detail: format!("reading the body: {e}"),
    })?;
    Ok(Resp {
        request: what,
        status,
        headers,
        text,
    })
}
