//! `-o grafana-cloud` as a user runs it, with the stack's URL, instance id and token in Grafana
//! Cloud's environment variables, a real Prometheus standing in for the stack (it ignores the
//! Basic auth): Prometheus' answers against the summary export, and the token nowhere in sight.

use loadrun_test_support::Service;

use crate::out_prometheus::{assert_matches_summary, prom_query};
use crate::support::quick_run;

const TOKEN: &str = "glc_e2eSecretToken0123456789";

#[test]
fn grafana_cloud_holds_what_the_summary_counted_with_a_testid() {
    let Some(svc) = Service::start("prometheus", &[]) else {
        return;
    };
    let base = svc.var("PROMETHEUS_URL").to_string();
    let run = quick_run(
        "/get",
        2,
        "2s",
        &["grafana_cloud"],
        &["-o", "grafana-cloud=testId=checkout-v2,pushInterval=1s"],
        &[
            ("GRAFANA_CLOUD_PROMETHEUS_URL", svc.var("PROMETHEUS_RW_URL")),
            ("GRAFANA_CLOUD_INSTANCE_ID", "123456"),
            ("GRAFANA_CLOUD_TOKEN", TOKEN),
            // The prometheus output's k6 names work here too.
            ("K6_PROMETHEUS_RW_TREND_STATS", "p(95),avg,max"),
        ],
    );
    run.assert_clean();
    assert_matches_summary(&run, &base, "{testid=\"checkout-v2\"}");
    // Every series carries the testid the dashboard selects runs by.
    let all = prom_query(&base, "{__name__=~\"k6_.+\"}");
    assert!(all.len() > 10, "{all:?}");
    for (labels, _) in &all {
        assert_eq!(labels["testid"], "checkout-v2", "{labels}");
    }
    let shown = format!("{}{}{}", run.stdout(), run.stderr(), run.summary);
    assert!(!shown.contains(TOKEN), "the token was shown");
}
