//! `transport=dogstatsd`: no local server keeps DogStatsD tags as Datadog does (Etsy statsd folds
//! them into the key, see the statsd plugin's test), so this checks the datagrams byte for byte
//! against the published DogStatsD format, `<name>:<value>|<type>[|@<rate>][|#<tag>,...]`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::UdpSocket;
use std::time::Duration;

use loadrun_plugin_api::testkit::{completed_outcome, init, started, BatchBuilder};
use loadrun_plugin_api::{MetricType, ValueKind, WriteStatus};
use out_datadog::DatadogPlugin;

fn receive(arg_extra: &str, env: &[(&str, &str)]) -> Vec<String> {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let addr = server.local_addr().unwrap();
    let arg = format!("addr={addr}{arg_extra}");
    let (mut out, _rec) = started::<DatadogPlugin>(init("datadog", Some(&arg), "{}", env));
    let mut b = BatchBuilder::new();
    let reqs = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let dur = b.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
    let temp = b.metric("temp", MetricType::Gauge, ValueKind::Default);
    let checks = b.metric("checks", MetricType::Rate, ValueKind::Default);
    let tags = [
        ("status", "200"),
        ("method", "GET"),
        ("name", "a|b,c#d"),
        ("vu", "3"),
    ];
    let s1 = b.series(reqs, &tags, &[]);
    let s2 = b.series(dur, &tags, &[]);
    let s3 = b.series(temp, &[], &[]);
    let s4 = b.series(checks, &[("check", "is ok?")], &[]);
    b.sample(s1, 1, 1.0)
        .sample(s1, 2, 1.0)
        .sample(s2, 1, 12.5)
        .sample(s3, 1, -4.0);
    b.sample(s4, 1, 1.0);
    assert_eq!(out.write(b.batch()), WriteStatus::Ok);
    let outcome = completed_outcome();
    out.stop(&outcome, Duration::from_secs(1)).unwrap();
    let mut buf = [0u8; 2048];
    let n = server.recv(&mut buf).unwrap();
    String::from_utf8(buf[..n].to_vec())
        .unwrap()
        .split('\n')
        .map(String::from)
        .collect()
}

#[test]
fn k6_names_tags_on_by_default() {
    let got = receive(
        "",
        &[("DD_ENV", "staging"), ("DD_TAGS", "team:qa region:eu")],
    );
    let t = "env:staging,method:GET,name:a_b_c_d,region:eu,status:200,team:qa";
    assert_eq!(
        got,
        vec![
            format!("k6.http_reqs:2|c|#{t}"),
            format!("k6.http_req_duration:12.5|ms|#{t}"),
            // DogStatsD has no relative gauges: a negative value is sent as it is.
            "k6.temp:-4|g|#env:staging,region:eu,team:qa".to_string(),
            "k6.check.is_ok.pass:1|c|#check:is ok?,env:staging,region:eu,team:qa".to_string(),
        ]
    );
}

#[test]
fn distribution_and_checks_as_tag() {
    let got = receive(
        ",distribution=true,checksAs=tag,namespace=lt.,tags=env:prod",
        &[],
    );
    assert_eq!(
        got[1],
        "lt.http_req_duration:12.5|d|#env:prod,method:GET,name:a_b_c_d,status:200"
    );
    assert_eq!(got[3], "lt.checks:1|c|#check:is ok?,env:prod,result:pass");
}

#[test]
fn datadog_agent_env_names() {
    let cfg = out_datadog::parse_config(&init(
        "datadog",
        None,
        "{}",
        &[("DD_AGENT_HOST", "10.1.2.3"), ("DD_DOGSTATSD_PORT", "9125")],
    ))
    .unwrap();
    let out_datadog::DatadogConfig::DogStatsd(cfg) = cfg else {
        panic!()
    };
    assert_eq!(cfg.addr, "10.1.2.3:9125");
    // k6's name wins over Datadog's, and -o over both.
    let env = [
        ("DD_AGENT_HOST", "10.1.2.3"),
        ("K6_STATSD_ADDR", "k6host:8125"),
    ];
    let out_datadog::DatadogConfig::DogStatsd(cfg) =
        out_datadog::parse_config(&init("datadog", None, "{}", &env)).unwrap()
    else {
        panic!()
    };
    assert_eq!(cfg.addr, "k6host:8125");
    let out_datadog::DatadogConfig::DogStatsd(cfg) =
        out_datadog::parse_config(&init("datadog", Some("addr=cli:1"), "{}", &env)).unwrap()
    else {
        panic!()
    };
    assert_eq!(cfg.addr, "cli:1");
}

/// Under a 1.3 host the options arrive checked, without their sources: the computed
/// fallbacks (`DD_AGENT_HOST`, api's 10 s push interval) must still give way to a given value.
#[test]
fn host_checked_options_keep_the_fallbacks() {
    use loadrun_plugin_api::values::{RawOptions, Values};
    let with = |arg: &str| {
        let env = [("DD_AGENT_HOST", "10.1.2.3"), ("DD_API_KEY", "k")];
        let raw = RawOptions {
            output: "datadog".into(),
            arg: Some(arg.into()),
            plan: Vec::new(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let checked = Values::resolve(&out_datadog::OUTPUT, &raw)
            .unwrap()
            .to_json();
        let mut i = init("datadog", Some(arg), "{}", &env);
        i.extra = serde_json::json!({ "options": checked }).to_string().into();
        out_datadog::parse_config(&i).unwrap()
    };
    let addr = |arg: &str| match with(arg) {
        out_datadog::DatadogConfig::DogStatsd(c) => c.addr,
        other => panic!("{other:?}"),
    };
    assert_eq!(addr("transport=dogstatsd"), "10.1.2.3:8125");
    assert_eq!(addr("addr=cli:1"), "cli:1");
    let push = |arg: &str| match with(arg) {
        out_datadog::DatadogConfig::Api(c) => c.push_interval,
        other => panic!("{other:?}"),
    };
    assert_eq!(push("transport=api"), Duration::from_secs(10));
    assert_eq!(
        push("transport=api,pushInterval=1s"),
        Duration::from_secs(1)
    );
}
