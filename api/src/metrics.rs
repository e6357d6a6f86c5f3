//! Prometheus counters kept by hand: the handful of series an operator graphs do not justify a
//! metrics framework.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Requests by (route, status class) and their total latency.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), (u64, f64)>>,
}

impl Metrics {
    pub fn observe(&self, route: &str, status: u16, seconds: f64) {
        if let Ok(mut m) = self.requests.lock() {
            let e = m.entry((route.to_owned(), status)).or_default();
            e.0 += 1;
            e.1 += seconds;
        }
    }

    /// The text exposition format, with `extra` gauges appended.
    pub fn render(&self, extra: &[(&str, &str, f64)]) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP healthledger_http_requests_total HTTP requests by route and status.\n",
        );
        out.push_str("# TYPE healthledger_http_requests_total counter\n");
        let snapshot: Vec<_> = self
            .requests
            .lock()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default();
        for ((route, status), (n, _)) in &snapshot {
            let _ = writeln!(
                out,
                "healthledger_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP healthledger_http_request_seconds_sum Total time spent answering, by route.\n",
        );
        out.push_str("# TYPE healthledger_http_request_seconds_sum counter\n");
        for ((route, status), (_, s)) in &snapshot {
            let _ = writeln!(
                out,
                "healthledger_http_request_seconds_sum{{route=\"{route}\",status=\"{status}\"}} {s}"
            );
        }
        for (name, help, value) in extra {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        out
    }
}
