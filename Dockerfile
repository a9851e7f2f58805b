# The image that `loadrun kubernetes` runs (docs/kubernetes.md): loadrun in /usr/bin, the output
# plugins in /usr/lib/loadrun/plugins, where loadrun looks for them.
#   docker build -t loadrun:latest .

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# The host and every plugin built as a shared library (csv and json are built into the host).
RUN cargo build --release --locked -p loadrun \
        -p out-cloud -p out-cloudwatch -p out-datadog -p out-grafana-cloud -p out-influxdb \
        -p out-netdata -p out-newrelic -p out-opentelemetry -p out-prometheus -p out-statsd \
        -p out-timescaledb \
    && install -D -m 755 target/release/loadrun /out/usr/bin/loadrun \
    && install -D -m 644 -t /out/usr/lib/loadrun/plugins target/release/libout_*.so

FROM debian:bookworm-slim
# TLS roots for HTTPS targets and outputs; sh is used by the pods' wait-and-merge steps.
# Not pinned: the roots must be the distribution's current ones.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ /
# Not root: a load generator needs no privileges.
RUN useradd --system --uid 10001 --home-dir /results loadrun \
    && mkdir -p /results && chown loadrun /results
USER 10001
WORKDIR /results
ENTRYPOINT ["loadrun"]
CMD ["--help"]
