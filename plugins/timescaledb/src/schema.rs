//! The tables, created or completed at start.
//!
//! Compatible with k6's xk6-output-timescaledb (`samples (ts, metric, tags, value)` and
//! `thresholds`), so dashboards built on it keep working, with its defects fixed:
//! - each statement runs on its own, so plain PostgreSQL works (k6 sent one multi-statement
//!   string whose failing `create_hypertable` rolled everything back);
//! - `value` is `double precision` (k6: `real`); a table k6 created keeps its `real` column and is
//!   written as such, with a warning, because converting it would rewrite the whole table;
//! - `test_run_id`, `metric_type`, `metric_contains` and `metadata` (vu/iter) columns, a
//!   `test_runs` table, and a GIN index on `tags`.
//!
//! Only what is missing is created, so a role that may write but not create works against tables
//! an owner created beforehand, and a role that may do neither gets one clear error here, before
//! the test starts.

use std::time::Duration;

use tokio_postgres::Client;

use crate::config::{Config, Hypertable};
use crate::transport::{describe, SinkError};

struct Column {
    name: &'static str,
    ddl: &'static str,
}

struct Table {
    name: &'static str,
    create: &'static str,
    /// Columns added to a table created by an older schema (k6's, or ours).
    columns: &'static [Column],
}

const SAMPLES: Table = Table {
    name: "samples",
    create: "CREATE TABLE IF NOT EXISTS samples (\
        ts timestamptz NOT NULL DEFAULT current_timestamp, \
        metric varchar(128) NOT NULL, \
        tags jsonb, \
        value double precision, \
        test_run_id text, \
        metric_type text, \
        metric_contains text, \
        metadata jsonb)",
    columns: &[
        Column {
            name: "test_run_id",
            ddl: "text",
        },
        Column {
            name: "metric_type",
            ddl: "text",
        },
        Column {
            name: "metric_contains",
            ddl: "text",
        },
        Column {
            name: "metadata",
            ddl: "jsonb",
        },
    ],
};

const THRESHOLDS: Table = Table {
    name: "thresholds",
    create: "CREATE TABLE IF NOT EXISTS thresholds (\
        id serial, \
        ts timestamptz NOT NULL DEFAULT current_timestamp, \
        metric varchar(128) NOT NULL, \
        tags jsonb, \
        threshold varchar(128) NOT NULL, \
        abort_on_fail boolean DEFAULT FALSE, \
        delay_abort_eval varchar(128), \
        last_failed boolean DEFAULT FALSE, \
        test_run_id text)",
    columns: &[Column {
        name: "test_run_id",
        ddl: "text",
    }],
};

const TEST_RUNS: Table = Table {
    name: "test_runs",
    create: "CREATE TABLE IF NOT EXISTS test_runs (\
        id text PRIMARY KEY, \
        plan_name text, \
        start_time timestamptz NOT NULL, \
        end_time timestamptz, \
        outcome text NOT NULL DEFAULT 'running', \
        end_reason text, \
        duration_ms bigint, \
        samples_written bigint, \
        tags jsonb)",
    columns: &[],
};

/// One row per COPY chunk delivered, written in the chunk's transaction: a chunk whose
/// acknowledgement was lost (connection dropped after COMMIT) is found here on retry instead of
/// being written twice.
const LOADRUN_CHUNKS: Table = Table {
    name: "loadrun_chunks",
    create: "CREATE TABLE IF NOT EXISTS loadrun_chunks (\
        test_run_id text NOT NULL, \
        chunk_id text NOT NULL, \
        rows bigint NOT NULL, \
        written_at timestamptz NOT NULL DEFAULT current_timestamp, \
        PRIMARY KEY (test_run_id, chunk_id))",
    columns: &[],
};

/// `(name, table, definition)`; `idx_samples_ts` and `idx_thresholds_ts` are k6's.
const INDEXES: &[(&str, &str, &str)] = &[
    ("idx_samples_ts", "samples", "(ts DESC)"),
    ("idx_samples_tags", "samples", "USING GIN (tags)"),
    (
        "idx_samples_run",
        "samples",
        "(test_run_id, metric, ts DESC)",
    ),
    ("idx_thresholds_ts", "thresholds", "(ts DESC)"),
    ("idx_thresholds_run", "thresholds", "(test_run_id)"),
];

/// What start learned about the database.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaInfo {
    /// `samples.value` is k6's `real` (float4): values must be sent as such.
    pub value_is_real: bool,
    /// `samples` is a TimescaleDB hypertable.
    pub hypertable: bool,
    /// Things the user should know (written to the host's log).
    pub warnings: Vec<String>,
}

/// Creates what is missing, checks the privileges the run needs, sets up TimescaleDB.
/// Arbitrary, fixed: the key of the advisory lock that serialises schema setup.
const SCHEMA_LOCK_KEY: i64 = 0x006c_6f61_6472_756e;

/// Creates or completes the schema. Runs under a session advisory lock, so several loadrun
/// processes starting at once against one database do not race on `CREATE TABLE` (PostgreSQL's
/// `IF NOT EXISTS` is not safe against concurrent creators).
pub async fn ensure(client: &Client, cfg: &Config) -> Result<SchemaInfo, SinkError> {
    let ctx = |what: &str, e: tokio_postgres::Error| SinkError::Schema {
        what: what.to_string(),
        target: cfg.safe_url(),
        reason: e.to_string(),
        hint: String::new(),
    };
    client
        .execute("SELECT pg_advisory_lock($1)", &[&SCHEMA_LOCK_KEY])
        .await
        .map_err(|e| ctx("take the schema lock", e))?;
    let result = ensure_locked(client, cfg).await;
    // The lock is the session's: a failed unlock ends with the connection anyway.
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&SCHEMA_LOCK_KEY])
        .await;
    result
}

async fn ensure_locked(client: &Client, cfg: &Config) -> Result<SchemaInfo, SinkError> {
    let ctx = |what: &str, e: tokio_postgres::Error| SinkError::Schema {
        what: what.to_string(),
        target: cfg.safe_url(),
        reason: cfg.redact(&describe(&e)),
        hint: hint(&e),
    };
    let mut info = SchemaInfo {
        value_is_real: false,
        hypertable: false,
        warnings: Vec::new(),
    };
    let ext = timescaledb(client, cfg, &mut info)
        .await
        .map_err(|e| ctx("set up the timescaledb extension", e))?;
    if !ext && cfg.hypertable == Hypertable::On {
        return Err(SinkError::Schema {
            what: "make samples a hypertable (hypertable=true)".to_string(),
            target: cfg.safe_url(),
            reason: "the timescaledb extension is not installed in this database".to_string(),
            hint: " (install it, add createExtension=true, or use hypertable=auto)".to_string(),
        });
    }

    for table in [&SAMPLES, &THRESHOLDS, &TEST_RUNS, &LOADRUN_CHUNKS] {
        let columns = columns(client, table.name)
            .await
            .map_err(|e| ctx("read the table definitions", e))?;
        if columns.is_empty() {
            client
                .batch_execute(table.create)
                .await
                .map_err(|e| ctx(&format!("create table {}", table.name), e))?;
            continue;
        }
        for col in table.columns {
            if !columns.iter().any(|(n, _)| n == col.name) {
                let sql = format!(
                    "ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}",
                    table.name, col.name, col.ddl
                );
                client
                    .batch_execute(&sql)
                    .await
                    .map_err(|e| ctx(&format!("add column {}.{}", table.name, col.name), e))?;
            }
        }
        if table.name == "samples" && columns.iter().any(|(n, t)| n == "value" && t == "real") {
            info.value_is_real = true;
            info.warnings.push(
                "samples.value is real (float4), as k6's extension created it: values keep \
                 about 7 significant digits. Upgrade it with \
                 ALTER TABLE samples ALTER COLUMN value TYPE double precision"
                    .to_string(),
            );
        }
    }

    if ext {
        hypertable(client, cfg, &mut info)
            .await
            .map_err(|e| ctx("make samples a hypertable", e))?;
    }

    let existing: Vec<String> = client
        .query(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() \
             AND tablename IN ('samples', 'thresholds')",
            &[],
        )
        .await
        .map_err(|e| ctx("read the indexes", e))?
        .iter()
        .filter_map(|r| r.try_get(0).ok())
        .collect();
    for (name, table, def) in INDEXES {
        if !existing.iter().any(|e| e == name) {
            let sql = format!("CREATE INDEX IF NOT EXISTS {name} ON {table} {def}");
            client
                .batch_execute(&sql)
                .await
                .map_err(|e| ctx(&format!("create index {name}"), e))?;
        }
    }

    // has_table_privilege with a list answers "any of them", hence one call per privilege.
    let row = client
        .query_one(
            "SELECT has_table_privilege('samples', 'INSERT'), \
                    has_table_privilege('thresholds', 'INSERT'), \
                    has_table_privilege('thresholds', 'UPDATE'), \
                    has_table_privilege('thresholds', 'SELECT'), \
                    has_table_privilege('test_runs', 'INSERT'), \
                    has_table_privilege('test_runs', 'UPDATE'), \
                    has_table_privilege('test_runs', 'SELECT'), \
                    has_table_privilege('loadrun_chunks', 'INSERT'), \
                    has_table_privilege('loadrun_chunks', 'SELECT'), \
                    coalesce(has_sequence_privilege(\
                        pg_get_serial_sequence('thresholds', 'id'), 'USAGE'), TRUE)",
            &[],
        )
        .await
        .map_err(|e| ctx("check privileges", e))?;
    let needed = [
        "INSERT on samples",
        "INSERT on thresholds",
        "UPDATE on thresholds",
        "SELECT on thresholds",
        "INSERT on test_runs",
        "UPDATE on test_runs",
        "SELECT on test_runs",
        "INSERT on loadrun_chunks",
        "SELECT on loadrun_chunks",
        "USAGE on the sequence of thresholds.id",
    ];
    let missing: Vec<&str> = needed
        .iter()
        .enumerate()
        .filter(|(i, _)| !row.try_get::<_, bool>(*i).unwrap_or(false))
        .map(|(_, what)| *what)
        .collect();
    if !missing.is_empty() {
        return Err(SinkError::Privileges {
            user: cfg.user.clone(),
            target: cfg.safe_url(),
            missing: missing.join(", "),
        });
    }
    Ok(info)
}

/// `(column, type)` of a table as the search path resolves it (as the DDL and COPY do); empty if
/// there is none. Read from the catalog, not information_schema, which hides the columns of
/// tables the role has no privilege on.
async fn columns(
    client: &Client,
    table: &str,
) -> Result<Vec<(String, String)>, tokio_postgres::Error> {
    Ok(client
        .query(
            "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute \
             WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped",
            &[&table],
        )
        .await?
        .iter()
        .filter_map(|r| Some((r.try_get(0).ok()?, r.try_get(1).ok()?)))
        .collect())
}

async fn installed(client: &Client) -> Result<bool, tokio_postgres::Error> {
    client
        .query_opt(
            "SELECT extversion::text FROM pg_extension WHERE extname = 'timescaledb'",
            &[],
        )
        .await
        .map(|r| r.is_some())
}

/// Whether the extension is there (creating it first if asked).
async fn timescaledb(
    client: &Client,
    cfg: &Config,
    info: &mut SchemaInfo,
) -> Result<bool, tokio_postgres::Error> {
    let mut present = installed(client).await?;
    if !present && cfg.create_extension && cfg.hypertable != Hypertable::Off {
        match client
            .batch_execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
            .await
        {
            Ok(()) => present = installed(client).await?,
            Err(e) if cfg.hypertable == Hypertable::On => return Err(e),
            Err(e) => info.warnings.push(format!(
                "CREATE EXTENSION timescaledb failed ({}); samples stays a plain table",
                cfg.redact(&describe(&e))
            )),
        }
    }
    let policies =
        cfg.compress_after.is_some() || cfg.retention.is_some() || cfg.chunk_interval.is_some();
    if !present && policies {
        info.warnings.push(
            "compressAfter, retention and chunkInterval need the timescaledb extension, \
             which this database lacks: ignored"
                .to_string(),
        );
    }
    Ok(present && cfg.hypertable != Hypertable::Off)
}

async fn hypertable(
    client: &Client,
    cfg: &Config,
    info: &mut SchemaInfo,
) -> Result<(), tokio_postgres::Error> {
    let chunk = interval(cfg.chunk_interval.unwrap_or(Duration::from_secs(86_400)));
    client
        .execute(
            "SELECT create_hypertable('samples', 'ts', chunk_time_interval => $1::text::interval, \
             if_not_exists => TRUE, migrate_data => TRUE)",
            &[&chunk],
        )
        .await?;
    info.hypertable = true;
    if let Some(after) = cfg.compress_after {
        // Fails if compressed chunks already exist with other settings: keep going then.
        if let Err(e) = client
            .batch_execute(
                "ALTER TABLE samples SET (timescaledb.compress, \
                 timescaledb.compress_segmentby = 'metric', timescaledb.compress_orderby = 'ts DESC')",
            )
            .await
        {
            info.warnings.push(format!(
                "could not enable compression on samples: {}",
                cfg.redact(&describe(&e))
            ));
        }
        client
            .execute(
                "SELECT add_compression_policy('samples', $1::text::interval, if_not_exists => TRUE)",
                &[&interval(after)],
            )
            .await?;
    }
    if let Some(keep) = cfg.retention {
        client
            .execute(
                "SELECT add_retention_policy('samples', $1::text::interval, if_not_exists => TRUE)",
                &[&interval(keep)],
            )
            .await?;
    }
    Ok(())
}

fn interval(d: Duration) -> String {
    format!("{} seconds", d.as_secs().max(1))
}

/// What to do about the common failures.
fn hint(e: &tokio_postgres::Error) -> String {
    match e.code().map(|c| c.code()) {
        Some("42501") => " (grant the role CREATE on the schema, or have an owner create the \
                          tables first with the statements in the plugin's README)"
            .to_string(),
        Some("58P01") | Some("0A000") => {
            " (the timescaledb extension is not installed on the server)".to_string()
        }
        _ => String::new(),
    }
}
