//! loadrun's conformance kit against the built `libout_datadog.so` (`transport=api`), with the
//! real VictoriaMetrics as the Datadog series API: every sample counted exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use loadrun_plugin_api::testkit::Conformance;
use loadrun_test_support::http_get::get_text;
use loadrun_test_support::Service;

fn stored(vm: &str) -> Result<u64, String> {
    get_text(&format!("{vm}/internal/force_flush"), &[])?;
    let end = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs()
        + 60;
    let text = get_text(
        &format!("{vm}/api/v1/export"),
        &[
            ("match[]", "{__name__=\"k6.loadrun_conformance\"}"),
            ("end", &end.to_string()),
        ],
    )?;
    let mut total = 0.0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        total += v["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_f64())
            .sum::<f64>();
    }
    Ok(total as u64)
}

#[test]
fn the_datadog_api_plugin_conforms() {
    let Some(vm) = Service::start("victoriametrics", &[]) else {
        return;
    };
    let url = vm.var("VM_URL").to_string();
    let vm = std::rc::Rc::new(vm);
    let broken = std::rc::Rc::new(std::cell::Cell::new(false));
    let report = Conformance::new(loadrun_test_support::plugin_path("datadog"), "datadog")
        // A short push interval so that writes, not only stop, meet the outage.
        .arg(&format!(
            "transport=api,apiVersion=1,endpoint={url}/datadog,host=conf,pushInterval=100ms"
        ))
        .env("DD_API_KEY", "conformance-key")
        .invalid_arg("transport=carrier-pigeon", "transport")
        .invalid_arg("transport=api,site=example", "site")
        .stored_samples(move || stored(&url))
        // The kit heals more than once; restart only a stopped server.
        .fault(move |b| {
            if b && !broken.get() {
                vm.stop();
            } else if !b && broken.get() {
                vm.restart();
            }
            broken.set(b);
        })
        .deadlines(Duration::from_secs(10), Duration::from_secs(5))
        .run();
    println!("{report}");
    report.assert_passed();
}
