//! Output options k6 2.x added, each against its real server: `-o opentelemetry` under its
//! stable name with OTLP/HTTP basic auth and `K6_OTEL_EXPORTER_PROTOCOL` (the old names warn),
//! remote write's static labels and `--features native-histograms`, and an InfluxDB URL
//! behind a reverse proxy's path prefix (nginx).

use loadrun_test_support::Service;
use serde_json::Value;

use crate::out_prometheus::{prom_query, prom_single};
use crate::support::{get_json, http, quick_run};

fn points_total(base: &str, metric: &str) -> f64 {
    get_json(&format!("{base}/points"), &[])
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["metric"] == metric)
        .map(|p| {
            p["asDouble"]
                .as_f64()
                .or_else(|| p["asInt"].as_str()?.parse().ok())
                .unwrap_or(0.0)
        })
        .sum()
}

#[test]
fn opentelemetry_with_basic_auth_and_k6_2x_variables() {
    let Some(svc) = Service::start(
        "otlp-receiver",
        &[
            ("OTLP_GRPC_PORT", "0"),
            ("OTLP_HTTP_BASIC_AUTH", "k6user:s3cret-pw"),
        ],
    ) else {
        return;
    };
    let base = svc.var("OTLP_HTTP_URL").to_string();
    let endpoint = format!("127.0.0.1:{}", svc.var("OTLP_HTTP_PORT"));
    let endpoint = endpoint.as_str();
    let env = |password: &'static str| {
        vec![
            ("K6_OTEL_EXPORTER_PROTOCOL", "http/protobuf"),
            ("K6_OTEL_HTTP_EXPORTER_ENDPOINT", endpoint),
            ("K6_OTEL_HTTP_EXPORTER_INSECURE", "true"),
            ("K6_OTEL_HTTP_EXPORTER_USERNAME", "k6user"),
            ("K6_OTEL_HTTP_EXPORTER_PASSWORD", password),
            ("K6_OTEL_EXPORT_INTERVAL", "500ms"),
            // Each sample in exactly one point, so the points add up to the summary's counts.
            ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta"),
        ]
    };
    let run = quick_run(
        "/get",
        2,
        "2s",
        &["opentelemetry"],
        &["-o", "opentelemetry"],
        &env("s3cret-pw"),
    );
    run.assert_clean();
    let received = get_json(&format!("{base}/received"), &[]);
    let received = received.as_array().unwrap();
    assert!(!received.is_empty());
    for r in received {
        assert_eq!(r["transport"], "http-protobuf");
        assert_eq!(r["peer"]["basic_user"], "k6user", "{}", r["peer"]);
    }
    assert_eq!(
        points_total(&base, "http_reqs"),
        run.metric("http_reqs", "count")
    );
    // The stable name and the new variable: nothing to warn about; the password never shown.
    let stderr = run.stderr();
    assert!(
        !stderr.contains("old name") && !stderr.contains("deprecated"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret-pw") && !run.stdout().contains("s3cret-pw"));

    // A wrong password is refused by the receiver: nothing arrives.
    let (status, _) = http("POST", &format!("{base}/reset"), &[], b"");
    assert_eq!(status, 200);
    let run = quick_run(
        "/get",
        1,
        "1s",
        &["opentelemetry"],
        &["-o", "opentelemetry"],
        &env("wrong"),
    );
    assert!(run.output.status.success(), "{}", run.stderr());
    let report = run.output_report("opentelemetry");
    assert_eq!(report["written"], 0, "{report}");
    assert!(run.stderr().contains("401"), "{}", run.stderr());
    assert!(get_json(&format!("{base}/received"), &[])
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn opentelemetry_old_names_still_work_and_warn_once() {
    let Some(svc) = Service::start("otlp-receiver", &[("OTLP_GRPC_PORT", "0")]) else {
        return;
    };
    let base = svc.var("OTLP_HTTP_URL").to_string();
    let endpoint = format!("127.0.0.1:{}", svc.var("OTLP_HTTP_PORT"));
    let run = quick_run(
        "/get",
        1,
        "1s",
        &["opentelemetry"],
        &["-o", "experimental-opentelemetry"],
        &[
            ("K6_OTEL_EXPORTER_TYPE", "http/protobuf"),
            ("K6_OTEL_HTTP_EXPORTER_ENDPOINT", endpoint.as_str()),
            ("K6_OTEL_HTTP_EXPORTER_INSECURE", "true"),
            ("K6_OTEL_EXPORT_INTERVAL", "500ms"),
            ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta"),
        ],
    );
    run.assert_clean();
    assert_eq!(
        points_total(&base, "http_reqs"),
        run.metric("http_reqs", "count")
    );
    let stderr = run.stderr();
    let count = |needle: &str| stderr.lines().filter(|l| l.contains(needle)).count();
    assert_eq!(
        count("-o experimental-opentelemetry is the old name of -o opentelemetry"),
        1,
        "{stderr}"
    );
    assert_eq!(
        count("K6_OTEL_EXPORTER_TYPE is deprecated since k6 1.4; set K6_OTEL_EXPORTER_PROTOCOL"),
        1,
        "{stderr}"
    );
}

#[test]
fn prometheus_static_labels_and_native_histograms_by_feature_switch() {
    let Some(svc) = Service::start(
        "prometheus",
        &[("PROMETHEUS_FEATURES", "native-histograms")],
    ) else {
        return;
    };
    let base = svc.var("PROMETHEUS_URL").to_string();
    let run = quick_run(
        "/get",
        2,
        "2s",
        &["prometheus"],
        // k6 2.1's switch as a flag; K6_FEATURES is the same option (the unit tests read it).
        &[
            "--features",
            "native-histograms",
            "--tag",
            "server=from-tag",
            "-o",
            &format!("prometheus={}", svc.var("PROMETHEUS_RW_URL")),
        ],
        &[
            ("K6_PROMETHEUS_RW_PUSH_INTERVAL", "500ms"),
            ("K6_PROMETHEUS_RW_LABELS", "environment=e2e,server=gen1"),
        ],
    );
    run.assert_clean();
    // Every series carries the static labels; a sample's own tag of the same name wins.
    let reqs = run.metric("http_reqs", "count");
    assert_eq!(
        prom_single(
            &base,
            "sum(k6_http_reqs_total{environment=\"e2e\",server=\"from-tag\"})"
        ),
        reqs
    );
    assert_eq!(
        prom_single(&base, "sum(k6_iterations_total{environment=\"e2e\"})"),
        run.metric("iterations", "count")
    );
    assert!(prom_query(&base, "k6_http_reqs_total{server=\"gen1\"}").is_empty());
    // Trends are native histograms, as with the old K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM.
    let count = prom_single(
        &base,
        "sum(histogram_count(k6_http_req_duration_seconds{environment=\"e2e\"}))",
    );
    assert_eq!(count, reqs);
    assert!(prom_query(&base, "k6_http_req_duration_p99").is_empty());

    // A label Prometheus would refuse is an error before the run, naming the option.
    let run = quick_run(
        "/get",
        1,
        "1s",
        &["prometheus"],
        &[
            "-o",
            &format!("prometheus={}", svc.var("PROMETHEUS_RW_URL")),
        ],
        &[("K6_PROMETHEUS_RW_LABELS", "__name__=x")],
    );
    assert_eq!(run.output.status.code(), Some(255), "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("labels: \"__name__\" is not a label name"),
        "{}",
        run.stderr()
    );
}

#[test]
fn influxdb_behind_a_reverse_proxy_path_prefix() {
    let Some(influx) = Service::start("influxdb", &[]) else {
        return;
    };
    let upstream = influx.var("INFLUXDB_URL").to_string();
    let Some(proxy) = Service::start(
        "nginx-proxy",
        &[
            ("NGINX_PROXY_UPSTREAM", &upstream),
            ("NGINX_PROXY_PREFIX", "/tools/influx"),
        ],
    ) else {
        return;
    };
    let proxied = proxy.var("NGINX_PROXY_URL").to_string();
    // The proxy answers only under its prefix: a client that drops it would get 404s.
    let (status, _) = http("GET", &format!("{proxied}/ping"), &[], b"");
    assert_eq!(status, 204);
    let run = quick_run(
        "/get",
        2,
        "2s",
        &["influxdb"],
        &["-o", &format!("influxdb={proxied}/k6proxied")],
        &[("K6_INFLUXDB_PUSH_INTERVAL", "300ms")],
    );
    run.assert_clean();
    let report = run.output_report("influxdb");
    assert_eq!(report["received"], report["written"], "{report}");
    let v: Value = get_json(
        &format!("{upstream}/query"),
        &[
            ("db", "k6proxied"),
            ("q", "SELECT count(value) FROM http_reqs"),
        ],
    );
    let count = v["results"][0]["series"][0]["values"][0][1].as_f64();
    assert_eq!(count, Some(run.metric("http_reqs", "count")), "{v}");
}
