//! Almanac with a real Prometheus (Debian's package; `scripts/test.sh`
//! installs it): Prometheus scrapes itself and remote-writes to Almanac.

use std::time::Duration;

use almanac::harness::{TestServer, urlencode};
use almanac::peers::{Prometheus, wait_for};

#[test]
fn prometheus_remote_write_arrives_with_its_labels() {
    let almanac = TestServer::start();
    let config = format!(
        r#"
global:
  scrape_interval: 1s
  external_labels:
    replica: e2e
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["{{{{SELF}}}}"]
remote_write:
  - url: http://{}/api/v1/write
    queue_config:
      batch_send_deadline: 1s
      min_backoff: 100ms
      max_backoff: 1s
    metadata_config:
      send_interval: 1s
"#,
        almanac.addr
    );
    let prom = Prometheus::start(&config, &[]);
    let q = format!(
        "/api/v1/series?match[]={}",
        urlencode("up{job=\"prometheus\"}")
    );
    let found = wait_for(Duration::from_secs(90), || {
        let r = almanac.get(&q);
        let v = r.json();
        v["data"].as_array().filter(|a| !a.is_empty()).cloned()
    });
    let series =
        found.unwrap_or_else(|| panic!("no `up` series arrived; prometheus log:\n{}", prom.log()));
    assert_eq!(series.len(), 1);
    let up = &series[0];
    assert_eq!(up["__name__"], "up");
    assert_eq!(up["job"], "prometheus");
    assert_eq!(up["instance"], prom.addr.to_string());
    assert_eq!(up["replica"], "e2e", "external labels are attached");

    // Many of Prometheus's own series arrive, and their metadata too.
    let names = wait_for(Duration::from_secs(30), || {
        let v = almanac.get("/api/v1/label/__name__/values").json();
        let names: Vec<String> = v["data"]
            .as_array()?
            .iter()
            .filter_map(|n| n.as_str().map(str::to_string))
            .collect();
        (names.len() > 50 && names.iter().any(|n| n == "prometheus_build_info")).then_some(names)
    });
    assert!(names.is_some(), "Prometheus's own metrics did not arrive");
    let md = wait_for(Duration::from_secs(30), || {
        let v = almanac
            .get("/api/v1/metadata?metric=prometheus_http_requests_total")
            .json();
        v["data"]["prometheus_http_requests_total"]
            .as_array()
            .cloned()
    });
    let md = md.unwrap_or_else(|| panic!("no metadata arrived; prometheus log:\n{}", prom.log()));
    assert_eq!(md[0]["type"], "counter");

    // Samples keep arriving: the count of `up` samples grows.
    let status = almanac.get("/metrics").text();
    assert!(
        status.contains("almanac_samples_ingested_total"),
        "{status}"
    );
}
