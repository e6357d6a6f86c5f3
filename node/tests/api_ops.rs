//! The API's operational routes and the error shape, against a real node process.

mod common;

use common::Hl;
use common::api::ApiNode;

#[test]
fn health_readiness_metrics_openapi_and_errors() {
    let mut node = ApiNode::start(Hl::init());
    node.get("/healthz", None).expect(200);
    let ready = node.get("/readyz", None).expect(200).json();
    assert_eq!(ready["status"], "ready");
    let doc = node.get("/openapi.json", None).expect(200).json();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    assert!(doc["paths"]["/healthz"].is_object());
    let metrics = node.get("/metrics", None).expect(200).text;
    assert!(metrics.contains("healthledger_log_size"), "{metrics}");
    assert!(metrics.contains("route=\"/healthz\""), "{metrics}");
    // Outside a consortium network: said plainly, and no consortium gauges.
    let status = node
        .get("/v1/consortium", Some(node.token("admin")))
        .expect(200)
        .json();
    assert_eq!(status["enabled"], false, "{status}");
    assert!(
        !metrics.contains("healthledger_consortium_peers"),
        "{metrics}"
    );
    // Unknown route and wrong method: OperationOutcome with the status.
    let r = node.get("/nope", None).expect(404);
    assert_eq!(r.outcome()["issue"][0]["code"], "not-found");
    let r = node
        .post("/healthz", None, &serde_json::json!({}))
        .expect(405);
    r.outcome();
    // While the node runs, commands that open its stores say so in one line and exit 1.
    for cmd in [&["log", "checkpoint"][..], &["fsck"], &["chain", "status"]] {
        let r = node.hl.run(cmd);
        assert_eq!(r.code, Some(1), "{cmd:?}: {}", r.stdout);
        let line = r.stderr.trim();
        assert_eq!(line.lines().count(), 1, "{cmd:?}: {line}");
        assert!(
            line.contains("in use by another process") && line.contains("healthledger node"),
            "{cmd:?}: {line}"
        );
    }
    assert!(node.stop(), "node did not stop cleanly");
}
