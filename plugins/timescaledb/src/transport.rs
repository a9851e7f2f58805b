//! The database side: a small pool of connections driven by a private current-thread tokio
//! runtime (nothing async crosses the plugin boundary), binary COPY of sample chunks, and the
//! `test_runs` / `thresholds` bookkeeping.
//!
//! Every chunk is one transaction: a row in `loadrun_chunks` naming the chunk, then one `COPY`.
//! It is either entirely written or not at all; and when the connection drops after the server
//! committed but before the answer arrived, the retry finds the chunk's row and writes nothing.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::{join_all, select, Either};
use loadrun_plugin_api::abi::{RunOutcome, Sample, TestMeta};
use tokio::runtime::Runtime;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Client;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::config::{Config, SslMode};
use crate::encoder::{json_object, threshold_tags, Jsonb, PgTimestamp, SeriesRows};
use crate::schema::{self, SchemaInfo};
use crate::tls::{self, TlsError};

const COPY_SQL: &str = "COPY samples (ts, metric, tags, value, test_run_id, metric_type, \
                        metric_contains, metadata) FROM STDIN BINARY";

/// Every message is built from [`Config::safe_url`] and [`Config::redact`]ed text: no password.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("timescaledb: cannot connect to {target}: {reason}")]
    Connect { target: String, reason: String },
    #[error("timescaledb: cannot {what} in {target}: {reason}{hint}")]
    Schema {
        what: String,
        target: String,
        reason: String,
        hint: String,
    },
    #[error(
        "timescaledb: user {user} lacks {missing} in {target}: grant it, or use a role that has it"
    )]
    Privileges {
        user: String,
        target: String,
        missing: String,
    },
    #[error("timescaledb: writing to {target} failed: {reason}")]
    Write {
        target: String,
        reason: String,
        retryable: bool,
    },
    #[error("timescaledb: {0}")]
    Tls(#[from] TlsError),
    #[error("timescaledb: cannot start its I/O runtime: {0}")]
    Runtime(String),
}

impl SinkError {
    /// A passing failure (the server is restarting, the network dropped): try again later.
    pub fn retryable(&self) -> bool {
        match self {
            SinkError::Connect { .. } => true,
            SinkError::Write { retryable, .. } => *retryable,
            _ => false,
        }
    }
}

/// A driver error as one line: the server's message, SQLSTATE, detail and hint when present.
pub fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{} [{}]", db.message(), db.code().code());
            if let Some(d) = db.detail() {
                s.push_str(&format!("; {d}"));
            }
            if let Some(h) = db.hint() {
                s.push_str(&format!("; hint: {h}"));
            }
            s
        }
        None => {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(cause) = src {
                let c = cause.to_string();
                if !s.contains(&c) {
                    s.push_str(&format!(": {c}"));
                }
                src = cause.source();
            }
            s
        }
    }
}

/// Whether a failed statement may succeed later: the connection broke, the server is shutting
/// down or starting, or it ran out of a resource. Data and privilege errors are not.
pub fn is_transient(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        None => true, // I/O, TLS or protocol trouble on the socket
        Some(code) => {
            let c = code.code();
            c.starts_with("08")
                || c.starts_with("53")
                || c.starts_with("57P")
                || matches!(c, "40001" | "40P01" | "55P03" | "57014")
        }
    }
}

/// The pool, its runtime and the identity of this run.
pub struct Sink {
    cfg: Arc<Config>,
    rt: Runtime,
    tls: MakeRustlsConnect,
    pool: Vec<Option<Client>>,
    value_is_real: bool,
    run_id: String,
    /// `(metric, source, row id)` of the thresholds inserted at start.
    thresholds: Vec<(String, String, i32)>,
    /// Connections opened while writing (the pool fills lazily, then refills after failures).
    pub connections_opened: u64,
    /// Successful deliveries still to be reported as failed, as if the answer had been lost.
    lose_acks: u32,
}

/// A chunk the server holds: `rows` written, now or by an earlier attempt whose answer was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub rows: u64,
    pub earlier: bool,
}

impl Sink {
    pub fn new(cfg: Arc<Config>, run_id: &str) -> Result<Self, SinkError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| SinkError::Runtime(e.to_string()))?;
        let tls = tls::connector(&cfg)?;
        Ok(Sink {
            pool: (0..cfg.connections).map(|_| None).collect(),
            cfg,
            rt,
            tls,
            value_is_real: false,
            run_id: run_id.to_string(),
            thresholds: Vec::new(),
            connections_opened: 0,
            lose_acks: 0,
        })
    }

    /// Connects, creates or completes the tables, records the run and its thresholds.
    pub fn start(&mut self, meta: &TestMeta) -> Result<SchemaInfo, SinkError> {
        let cfg = self.cfg.clone();
        let tls = self.tls.clone();
        let run_id = self.run_id.clone();
        let slot = &mut self.pool[0];
        let (info, thresholds) = self.rt.block_on(async {
            let client = connect_slot(slot, &cfg, &tls).await?;
            let info = schema::ensure(client, &cfg).await?;
            let thresholds = begin_run(client, &cfg, &run_id, meta).await?;
            Ok::<_, SinkError>((info, thresholds))
        })?;
        self.value_is_real = info.value_is_real;
        self.thresholds = thresholds;
        Ok(info)
    }

    /// Reports the next `n` successful deliveries as failed after they committed, dropping their
    /// connection: the lost acknowledgement a retry must not turn into duplicates.
    pub fn lose_acks(&mut self, n: u32) {
        self.lose_acks = n;
    }

    /// Delivers up to one chunk per pooled connection, concurrently; one result per chunk, in
    /// order. Each chunk is `(id, samples)`, the id the same on every attempt.
    /// A chunk whose samples' series are not in `rows` has those samples skipped.
    ///
    /// `stop_cap` tells how long the host still waits for the output once it is stopping (see
    /// `loadrun_http_support::stop_cap`): a round under way when stopping begins is cut at
    /// that deadline rather than running to `writeTimeout`, and its chunks stay pending (each
    /// chunk id makes a later retry of a chunk the server did take a no-op).
    pub fn copy(
        &mut self,
        chunks: &[(&str, &[Sample])],
        rows: &SeriesRows,
        limit: Duration,
        stop_cap: &(dyn Fn() -> Option<Duration> + Sync),
    ) -> Vec<Result<Delivered, SinkError>> {
        let cfg = &*self.cfg;
        let tls = &self.tls;
        let run_id = self.run_id.as_str();
        let real = self.value_is_real;
        let mut limit = limit.min(cfg.write_timeout);
        if let Some(cap) = stop_cap() {
            limit = limit.min(cap);
        }
        let mut reconnects = 0u64;
        let n = chunks.len();
        let cut = |why: String| {
            (0..n)
                .map(|_| {
                    Err(SinkError::Write {
                        target: cfg.safe_url(),
                        reason: why.clone(),
                        retryable: true,
                    })
                })
                .collect::<Vec<_>>()
        };
        if limit.is_zero() {
            return cut("not sent, the output's stop deadline has passed".to_string());
        }
        let pool = &mut self.pool;
        let results = self.rt.block_on(async {
            // Let each connection task notice a socket the server closed since the last call.
            tokio::task::yield_now().await;
            let jobs = pool
                .iter_mut()
                .zip(chunks.iter())
                .map(|(slot, (chunk_id, chunk))| {
                    let reconnect = slot.as_ref().is_none_or(Client::is_closed);
                    async move {
                        let client = connect_slot(slot, cfg, tls).await?;
                        let sent = tokio::time::timeout(
                            limit,
                            deliver(client, chunk_id, chunk, rows, run_id, real),
                        )
                        .await;
                        let failure = match sent {
                            Ok(Ok(n)) => return Ok((n, reconnect)),
                            Ok(Err(e)) => (cfg.redact(&describe(&e)), is_transient(&e)),
                            Err(_) => (format!("no answer within {limit:?}"), true),
                        };
                        // The connection's state is unknown after a failure: start afresh.
                        *slot = None;
                        Err(SinkError::Write {
                            target: cfg.safe_url(),
                            reason: failure.0,
                            retryable: failure.1,
                        })
                    }
                });
            match select(Box::pin(join_all(jobs)), Box::pin(stop_deadline(stop_cap))).await {
                Either::Left((done, _)) => Some(done),
                Either::Right(((), _)) => None,
            }
        });
        let Some(results) = results else {
            // The connections' state is unknown after a cut: start afresh next time.
            self.pool.iter_mut().for_each(|slot| *slot = None);
            return cut(format!(
                "cut short by the output's stop deadline (a round may take up to {limit:?})"
            ));
        };
        let results = results
            .into_iter()
            .zip(self.pool.iter_mut())
            .map(|(r, slot)| {
                let (delivered, reconnected) = r?;
                reconnects += u64::from(reconnected);
                if self.lose_acks > 0 {
                    self.lose_acks -= 1;
                    *slot = None;
                    return Err(SinkError::Write {
                        target: cfg.safe_url(),
                        reason: "connection lost before the answer arrived".to_string(),
                        retryable: true,
                    });
                }
                Ok(delivered)
            })
            .collect();
        self.connections_opened += reconnects;
        results
    }

    /// Writes the verdicts and the run's end into `thresholds` and `test_runs`.
    pub fn finish(
        &mut self,
        meta: &TestMeta,
        outcome: &RunOutcome,
        samples_written: u64,
        limit: Duration,
    ) -> Result<(), SinkError> {
        let cfg = self.cfg.clone();
        let tls = self.tls.clone();
        let run_id = self.run_id.clone();
        let thresholds = self.thresholds.clone();
        let slot = &mut self.pool[0];
        let work = async {
            let client = connect_slot(slot, &cfg, &tls).await?;
            end_run(client, &run_id, meta, outcome, &thresholds, samples_written)
                .await
                .map_err(|e| SinkError::Write {
                    target: cfg.safe_url(),
                    reason: cfg.redact(&describe(&e)),
                    retryable: is_transient(&e),
                })
        };
        self.rt.block_on(async {
            tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
                Err(SinkError::Write {
                    target: cfg.safe_url(),
                    reason: format!("no answer within {limit:?}"),
                    retryable: true,
                })
            })
        })
    }

    /// Sleeps on the runtime, so the connection tasks keep running meanwhile.
    pub fn sleep(&self, d: Duration) {
        // The timer must be created inside the runtime, hence the async block.
        self.rt.block_on(async move { tokio::time::sleep(d).await });
    }
}

/// The slot's live client, connecting first if it has none or its connection ended.
/// Resolves once the host is stopping the output and its deadline (less the margin) is
/// reached; never while the run goes on.
async fn stop_deadline(stop_cap: &(dyn Fn() -> Option<Duration> + Sync)) {
    loop {
        match stop_cap() {
            Some(left) => {
                tokio::time::sleep(left).await;
                return;
            }
            // Stopping begins on the host's thread at any moment: look again shortly.
            None => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

async fn connect_slot<'a>(
    slot: &'a mut Option<Client>,
    cfg: &Config,
    tls: &MakeRustlsConnect,
) -> Result<&'a Client, SinkError> {
    if slot.as_ref().is_some_and(Client::is_closed) {
        *slot = None;
    }
    if slot.is_none() {
        let err = |reason: String| SinkError::Connect {
            target: cfg.safe_url(),
            reason,
        };
        let mut pg = tokio_postgres::Config::new();
        pg.host(&cfg.host)
            .port(cfg.port)
            .user(&cfg.user)
            .dbname(&cfg.dbname)
            .application_name(&cfg.application_name)
            .connect_timeout(cfg.connect_timeout)
            .ssl_mode(match cfg.sslmode {
                SslMode::Disable => tokio_postgres::config::SslMode::Disable,
                SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
                _ => tokio_postgres::config::SslMode::Require,
            });
        if let Some(p) = &cfg.password {
            pg.password(p.expose());
        }
        if let Some(o) = &cfg.pg_options {
            pg.options(o);
        }
        // connect_timeout covers each TCP attempt; this covers the handshake and TLS as well.
        let handshake = cfg.connect_timeout.saturating_mul(2);
        let connected = tokio::time::timeout(handshake, pg.connect(tls.clone()))
            .await
            .map_err(|_| err(format!("no answer within {handshake:?}")))?
            .map_err(|e| err(cfg.redact(&format!("{}{}", describe(&e), tls::hint(cfg, &e)))))?;
        let (client, connection) = connected;
        tokio::spawn(async move {
            // Its end shows as `Client::is_closed`; the error itself comes back from the next
            // statement.
            let _ = connection.await;
        });
        *slot = Some(client);
    }
    slot.as_ref().ok_or_else(|| SinkError::Connect {
        target: cfg.safe_url(),
        reason: "no connection".to_string(),
    })
}

/// One transaction: claim the chunk's id in `loadrun_chunks`, then COPY its rows. An id already
/// there was committed by an earlier attempt: roll back and report it delivered.
async fn deliver(
    client: &Client,
    chunk_id: &str,
    chunk: &[Sample],
    rows: &SeriesRows,
    run_id: &str,
    value_is_real: bool,
) -> Result<Delivered, tokio_postgres::Error> {
    let count = chunk
        .iter()
        .filter(|s| rows.get(s.series).is_some())
        .count() as i64;
    client.batch_execute("BEGIN").await?;
    // If the earlier attempt's transaction is still open server-side, this waits for it to
    // commit (conflict: delivered) or abort (claimed now).
    let claimed = client
        .execute(
            "INSERT INTO loadrun_chunks (test_run_id, chunk_id, rows) VALUES ($1, $2, $3) \
             ON CONFLICT (test_run_id, chunk_id) DO NOTHING",
            &[&run_id, &chunk_id, &count],
        )
        .await?;
    if claimed == 0 {
        let earlier: i64 = client
            .query_one(
                "SELECT rows FROM loadrun_chunks WHERE test_run_id = $1 AND chunk_id = $2",
                &[&run_id, &chunk_id],
            )
            .await?
            .try_get(0)?;
        client.batch_execute("ROLLBACK").await?;
        return Ok(Delivered {
            rows: u64::try_from(earlier).unwrap_or(0),
            earlier: true,
        });
    }
    let n = copy_rows(client, chunk, rows, run_id, value_is_real).await?;
    client.batch_execute("COMMIT").await?;
    Ok(Delivered {
        rows: n,
        earlier: false,
    })
}

async fn copy_rows(
    client: &Client,
    chunk: &[Sample],
    rows: &SeriesRows,
    run_id: &str,
    value_is_real: bool,
) -> Result<u64, tokio_postgres::Error> {
    let value_type = if value_is_real {
        Type::FLOAT4
    } else {
        Type::FLOAT8
    };
    let types = [
        Type::TIMESTAMPTZ,
        Type::VARCHAR,
        Type::JSONB,
        value_type,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::JSONB,
    ];
    let sink = client.copy_in(COPY_SQL).await?;
    let writer = BinaryCopyInWriter::new(sink, &types);
    futures_util::pin_mut!(writer);
    for s in chunk {
        let Some(row) = rows.get(s.series) else {
            continue;
        };
        let ts = PgTimestamp::from_unix_ns(s.time_ns);
        let tags = Jsonb(&row.tags);
        let metadata = row.metadata.as_deref().map(Jsonb);
        let value64 = s.value;
        let value32 = s.value as f32;
        let value: &(dyn ToSql + Sync) = if value_is_real { &value32 } else { &value64 };
        writer
            .as_mut()
            .write(&[
                &ts,
                &row.metric,
                &tags,
                value,
                &run_id,
                &row.metric_type,
                &row.contains,
                &metadata,
            ])
            .await?;
    }
    writer.finish().await
}

/// At most `n` characters: k6's `varchar(128)` columns reject longer text.
fn fit(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

async fn begin_run(
    client: &Client,
    cfg: &Config,
    run_id: &str,
    meta: &TestMeta,
) -> Result<Vec<(String, String, i32)>, SinkError> {
    let fail = |what: &str, e: tokio_postgres::Error| SinkError::Schema {
        what: what.to_string(),
        target: cfg.safe_url(),
        reason: cfg.redact(&describe(&e)),
        hint: String::new(),
    };
    let tags = json_object(
        meta.tags
            .iter()
            .map(|kv| (kv.key.as_str(), kv.value.as_str())),
    );
    client
        .execute(
            "INSERT INTO test_runs (id, plan_name, start_time, outcome, tags) \
             VALUES ($1, $2, $3, 'running', $4) ON CONFLICT (id) DO NOTHING",
            &[
                &run_id,
                &meta.plan_name.as_str(),
                &PgTimestamp::from_unix_ns(meta.start_unix_ns),
                &Jsonb(&tags),
            ],
        )
        .await
        .map_err(|e| fail("record the run in test_runs", e))?;
    let mut ids = Vec::new();
    for t in meta.thresholds.iter() {
        let tags = threshold_tags(&t.metric);
        let row = client
            .query_one(
                "INSERT INTO thresholds (metric, tags, threshold, abort_on_fail, last_failed, \
                 test_run_id) VALUES ($1, $2, $3, $4, FALSE, $5) RETURNING id",
                &[
                    &fit(&t.metric, 128),
                    &tags.as_deref().map(Jsonb),
                    &fit(&t.source, 128),
                    &t.abort_on_fail,
                    &run_id,
                ],
            )
            .await
            .map_err(|e| fail("record the thresholds", e))?;
        // A table made elsewhere may have a wider id; then verdicts are inserted as new rows.
        if let Ok(id) = row.try_get::<_, i32>(0) {
            ids.push((t.metric.to_string(), t.source.to_string(), id));
        }
    }
    Ok(ids)
}

async fn end_run(
    client: &Client,
    run_id: &str,
    meta: &TestMeta,
    outcome: &RunOutcome,
    thresholds: &[(String, String, i32)],
    samples_written: u64,
) -> Result<(), tokio_postgres::Error> {
    for v in outcome.thresholds.iter() {
        let failed = !v.passed;
        let known = thresholds
            .iter()
            .find(|(m, s, _)| m == v.metric.as_str() && s == v.source.as_str());
        match known {
            Some((_, _, id)) => {
                client
                    .execute(
                        "UPDATE thresholds SET last_failed = $1 WHERE id = $2",
                        &[&failed, id],
                    )
                    .await?;
            }
            None => {
                let tags = threshold_tags(&v.metric);
                client
                    .execute(
                        "INSERT INTO thresholds (metric, tags, threshold, last_failed, test_run_id) \
                         VALUES ($1, $2, $3, $4, $5)",
                        &[
                            &fit(&v.metric, 128),
                            &tags.as_deref().map(Jsonb),
                            &fit(&v.source, 128),
                            &failed,
                            &run_id,
                        ],
                    )
                    .await?;
            }
        }
    }
    let end_ns = if outcome.duration_ms > 0 {
        meta.start_unix_ns
            .saturating_add((outcome.duration_ms as i64).saturating_mul(1_000_000))
    } else {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(meta.start_unix_ns)
    };
    let verdict = if outcome.passed { "passed" } else { "failed" };
    client
        .execute(
            "UPDATE test_runs SET end_time = $2, outcome = $3, end_reason = $4, duration_ms = $5, \
             samples_written = $6 WHERE id = $1",
            &[
                &run_id,
                &PgTimestamp::from_unix_ns(end_ns),
                &verdict,
                &outcome.reason.as_str(),
                &(outcome.duration_ms.min(i64::MAX as u64) as i64),
                &(samples_written.min(i64::MAX as u64) as i64),
            ],
        )
        .await?;
    Ok(())
}
