//! OTLP/gRPC over TLS against the real OTLP receiver (`tests/services/otlp-receiver.py`, gRPC's
//! own server with `grpc.ssl_server_credentials`), its certificates made at test time with the
//! openssl CLI (`make-test-pki.sh`): what arrives is decoded with the official protos and
//! compared with what was sent; the receiver says whether each call came over TLS and which
//! client certificate it presented. Every misconfiguration must fail with a reason naming the
//! TLS problem and the option to change, and deliver nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use loadrun_plugin_api::testkit::completed_outcome;
use loadrun_plugin_api::WriteStatus;
use loadrun_test_support::{Service, TestPki};

/// A receiver whose gRPC listener takes TLS only (`mtls`: and a client certificate its CA
/// signed); extra environment for the start script.
fn tls_receiver(mtls: bool, extra: &[(&str, &str)]) -> Option<Service> {
    let mut env = vec![(
        if mtls {
            "OTLP_GRPC_MTLS"
        } else {
            "OTLP_GRPC_TLS"
        },
        "1",
    )];
    env.extend_from_slice(extra);
    Service::start("otlp-receiver", &env)
}

/// Every request the receiver took came over gRPC with TLS; the client certificate names seen.
fn tls_peers(base: &str) -> Vec<String> {
    let recv = received(base);
    assert!(!recv.is_empty(), "nothing received");
    recv.iter()
        .map(|r| {
            assert_eq!(r["transport"], "grpc", "{r}");
            assert_eq!(r["peer"]["security"], "ssl", "not over TLS: {r}");
            r["peer"]["client_cn"].as_str().unwrap_or("").to_string()
        })
        .collect()
}

fn reset(base: &str) {
    loadrun_test_support::http_get::post_empty(&format!("{base}/reset")).unwrap();
}

/// Writes one iteration twice with an export due in between: the second write exports.
/// Returns the second write's status and what `stop` (1 s) said.
fn export_once(arg: &str, env: &[(&str, &str)]) -> (WriteStatus, Result<(), String>) {
    let mut full = "protocol=grpc,exportInterval=1ms".to_string();
    if !arg.is_empty() {
        full = format!("{full},{arg}");
    }
    let (mut out, _rec) = output(&full, env);
    let mut run = K6Run::new();
    run.iteration(0, 1.0);
    assert_eq!(out.write(run.b.batch()), WriteStatus::Ok);
    std::thread::sleep(Duration::from_millis(20));
    let status = out.write(run.b.samples_only());
    let stopped = out
        .stop(&completed_outcome(), Duration::from_secs(1))
        .map_err(|e| e.message.to_string());
    (status, stopped)
}

/// The reason of a `Fatal` write, which must also be what `stop` reports.
fn fatal(arg: &str, env: &[(&str, &str)]) -> String {
    match export_once(arg, env) {
        (WriteStatus::Fatal(e), stopped) => {
            let reason = e.message.to_string();
            let stopped = stopped.expect_err("stop succeeded after a fatal write");
            assert!(
                stopped.contains(&reason),
                "stop: {stopped}\nwrite: {reason}"
            );
            eprintln!("fatal as expected: {reason}");
            reason
        }
        other => panic!("expected Fatal with {arg}, got {other:?}"),
    }
}

#[test]
fn tls_with_the_right_ca_delivers_every_value() {
    let Some(svc) = tls_receiver(false, &[]) else {
        return;
    };
    let base = http_url(&svc);
    let addr = svc.var("OTLP_GRPC_ADDR").to_string();
    let ca = svc.var("OTLP_GRPC_TLS_CA_FILE").to_string();
    // loadrun's option names, an https:// endpoint by IP (the certificate names 127.0.0.1).
    run_k6(&format!(
        "protocol=grpc,endpoint=https://{addr},tlsCertificate={ca},exportInterval=1h"
    ));
    check_k6_run(&points(&base), "grpc", &base);
    assert_eq!(tls_peers(&base), [""], "one request, no client certificate");

    // k6's variables: host:port means TLS; by name (SNI and the DNS name checked).
    reset(&base);
    let port = svc.var("OTLP_GRPC_PORT").to_string();
    run_k6_env(
        "",
        &[
            ("K6_OTEL_EXPORTER_PROTOCOL", "grpc"),
            (
                "K6_OTEL_GRPC_EXPORTER_ENDPOINT",
                &format!("localhost:{port}"),
            ),
            ("K6_OTEL_TLS_CERTIFICATE", &ca),
            ("K6_OTEL_EXPORT_INTERVAL", "1h"),
        ],
    );
    check_k6_run(&points(&base), "grpc", &base);
    assert_eq!(tls_peers(&base).len(), 1);

    // The standard variable, and gzip off.
    reset(&base);
    run_k6_env(
        &format!("protocol=grpc,endpoint=https://{addr},exportInterval=1h,compression=none"),
        &[("OTEL_EXPORTER_OTLP_CERTIFICATE", &ca)],
    );
    check_k6_run(&points(&base), "grpc", &base);
    assert_eq!(tls_peers(&base).len(), 1);
}

#[test]
fn a_wrong_ca_is_fatal_and_says_which_file() {
    let Some(svc) = tls_receiver(false, &[]) else {
        return;
    };
    let Some(other) = TestPki::new("DNS:localhost,IP:127.0.0.1") else {
        return;
    };
    let base = http_url(&svc);
    let addr = svc.var("OTLP_GRPC_ADDR").to_string();
    let wrong = other.ca().display().to_string();
    let e = fatal(
        &format!("endpoint=https://{addr},tlsCertificate={wrong}"),
        &[],
    );
    assert!(e.contains("TLS: invalid peer certificate"), "{e}");
    assert!(
        e.contains(&format!("not signed by a CA in tlsCertificate {wrong}")),
        "{e}"
    );
    // k6's variable, the same answer.
    let e = fatal(
        &format!("endpoint=https://{addr}"),
        &[("K6_OTEL_TLS_CERTIFICATE", &wrong)],
    );
    assert!(e.contains(&format!("tlsCertificate {wrong}")), "{e}");
    // No CA at all: the public roots do not know the test CA either.
    let e = fatal(&format!("endpoint=https://{addr}"), &[]);
    assert!(
        e.contains("not signed by a public CA: set tlsCertificate"),
        "{e}"
    );
    assert!(received(&base).is_empty(), "{:?}", received(&base));
}

#[test]
fn a_certificate_for_another_host_is_fatal_and_names_it() {
    let Some(svc) = tls_receiver(false, &[("OTLP_TLS_NAMES", "DNS:otel.example.invalid")]) else {
        return;
    };
    let base = http_url(&svc);
    let ca = svc.var("OTLP_GRPC_TLS_CA_FILE").to_string();
    let e = fatal(
        &format!(
            "endpoint=https://{},tlsCertificate={ca}",
            svc.var("OTLP_GRPC_ADDR")
        ),
        &[],
    );
    assert!(
        e.contains("not valid for host 127.0.0.1: it is for otel.example.invalid"),
        "{e}"
    );
    assert!(received(&base).is_empty());
}

#[test]
fn plaintext_and_tls_mixed_up_are_fatal_and_say_so() {
    let Some(svc) = tls_receiver(false, &[]) else {
        return;
    };
    let base = http_url(&svc);
    let addr = svc.var("OTLP_GRPC_ADDR").to_string();
    // k6's way to ask for plaintext, against the TLS listener.
    let e = fatal(
        "",
        &[
            ("K6_OTEL_GRPC_EXPORTER_ENDPOINT", &addr),
            ("K6_OTEL_GRPC_EXPORTER_INSECURE", "true"),
        ],
    );
    assert!(
        e.contains("the receiver speaks TLS on this port: use an https:// endpoint"),
        "{e}"
    );
    let e = fatal(&format!("endpoint=http://{addr}"), &[]);
    assert!(e.contains("speaks TLS on this port"), "{e}");
    assert!(received(&base).is_empty());

    // And the other way round: TLS against the plaintext listener.
    let Some(plain) = receiver() else { return };
    let e = fatal(
        &format!(
            "endpoint=https://{},tlsCertificate={}",
            plain.var("OTLP_GRPC_ADDR"),
            svc.var("OTLP_GRPC_TLS_CA_FILE")
        ),
        &[],
    );
    assert!(
        e.contains("the receiver does not speak TLS on this port: use an http:// endpoint"),
        "{e}"
    );
    assert!(received(&http_url(&plain)).is_empty());
}

#[test]
fn mutual_tls_with_a_client_certificate() {
    let Some(svc) = tls_receiver(true, &[]) else {
        return;
    };
    let Some(other) = TestPki::new("DNS:localhost,IP:127.0.0.1") else {
        return;
    };
    let base = http_url(&svc);
    let addr = svc.var("OTLP_GRPC_ADDR").to_string();
    let ca = svc.var("OTLP_GRPC_TLS_CA_FILE").to_string();
    let (cert, key) = (
        svc.var("OTLP_GRPC_TLS_CLIENT_CERT").to_string(),
        svc.var("OTLP_GRPC_TLS_CLIENT_KEY").to_string(),
    );
    run_k6(&format!(
        "protocol=grpc,endpoint=https://{addr},tlsCertificate={ca},\
         tlsClientCertificate={cert},tlsClientKey={key},exportInterval=1h"
    ));
    check_k6_run(&points(&base), "grpc", &base);
    assert_eq!(tls_peers(&base), ["loadrun-test-client"]);

    // k6's variables.
    reset(&base);
    run_k6_env(
        &format!("protocol=grpc,endpoint=https://{addr},exportInterval=1h"),
        &[
            ("K6_OTEL_TLS_CERTIFICATE", &ca),
            ("K6_OTEL_TLS_CLIENT_CERTIFICATE", &cert),
            ("K6_OTEL_TLS_CLIENT_KEY", &key),
        ],
    );
    check_k6_run(&points(&base), "grpc", &base);
    assert_eq!(tls_peers(&base), ["loadrun-test-client"]);
    reset(&base);

    // No client certificate: gRPC's server closes the connection without a TLS alert, so this
    // is retried (not certain), with the likely cause.
    let (status, stopped) =
        export_once(&format!("endpoint=https://{addr},tlsCertificate={ca}"), &[]);
    match status {
        WriteStatus::Retry { reason, .. } => assert!(
            reason.contains("asked for a client certificate")
                && reason.contains("set tlsClientCertificate and tlsClientKey"),
            "{reason}"
        ),
        other => panic!("expected Retry, got {other:?}"),
    }
    let stopped = stopped.unwrap_err();
    assert!(stopped.contains("set tlsClientCertificate"), "{stopped}");
    assert!(
        svc.log().contains("PEER_DID_NOT_RETURN_A_CERTIFICATE"),
        "{}",
        svc.log()
    );

    // A client certificate of another CA.
    let wrong = other.client_cert().display().to_string();
    let (status, stopped) = export_once(
        &format!(
            "endpoint=https://{addr},tlsCertificate={ca},tlsClientCertificate={wrong},\
             tlsClientKey={}",
            other.client_key().display()
        ),
        &[],
    );
    match status {
        WriteStatus::Retry { reason, .. } => {
            assert!(
                reason.contains(&format!("probably refused {wrong}")),
                "{reason}"
            )
        }
        other => panic!("expected Retry, got {other:?}"),
    }
    assert!(stopped.unwrap_err().contains("probably refused"));
    assert!(
        svc.log().contains("CERTIFICATE_VERIFY_FAILED"),
        "{}",
        svc.log()
    );
    assert!(received(&base).is_empty(), "{:?}", received(&base));
}
