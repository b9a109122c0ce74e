//! Ingest: the simulator streams a fixed workload to the real ingester, and
//! the same events go through three baselines in the same run.

use std::collections::HashMap;
use std::process::{Child, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{TimeZone as _, Utc};
use serde_json::{Value, json};
use shared::Snowflake;
use shared::config::DatabaseConfig;
use shared::db::bench::EventRow;
use sqlx::PgPool;
use twilight_gateway::EventTypeFlags;

use crate::dbcost::{self, APP_BASELINE, APP_INGESTER, APP_NAIVE, Meter};
use crate::profile::Profile;
use crate::workload::{self, TruthTotals};

const TOKEN: &str = "bench-bot-token";
const SEED: u64 = 6;

/// `serverpulse-bench __ingester`: `serverpulse-ingester run` itself
/// ([`serverpulse_ingester::run_from_env`]), in a process of its own so that
/// its peak RSS is the ingester's alone and always the code this benchmark
/// was built with.
pub fn ingester_child_main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("serverpulse-ingester: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(serverpulse_ingester::run_from_env());
    shared::telemetry::exit_code("serverpulse-ingester", result)
}

fn rate(events: u64, elapsed: Duration) -> f64 {
    events as f64 / elapsed.as_secs_f64().max(1e-9)
}

pub async fn run(
    profile: &Profile,
    database: &DatabaseConfig,
    pool: &PgPool,
) -> anyhow::Result<Value> {
    let generated = Instant::now();
    let start_ms = sim_scenario::DEFAULT_START_MS;
    let (scenario, truth) = sim_scenario::generate_from(SEED, profile.ingest, start_ms);
    let generate_secs = generated.elapsed().as_secs_f64();
    let (_, bench_peak_after_generate) = workload::memory_of(std::process::id());
    let guild_ids: Vec<Snowflake> = truth.guild_ids.iter().map(|g| Snowflake(*g)).collect();
    let event_total = scenario.events.len();
    let mix = workload::event_mix(&scenario.events);
    let rows: Vec<EventRow> = scenario.events.iter().map(workload::event_row).collect();
    let expected = workload::truth_totals(&truth);
    drop(truth);
    eprintln!(
        "ingest: {event_total} events in {} guilds generated in {generate_secs:.1} s",
        guild_ids.len()
    );

    // (c) twilight deserialization of the same frames, no database.
    let parse = parse_baseline(&scenario.events);
    eprintln!(
        "ingest: (c) twilight parse {:.0} events/s, {:.2} µs of CPU per event",
        parse["events_per_sec"].as_f64().unwrap_or(0.0),
        parse["cpu_us_per_event"].as_f64().unwrap_or(0.0)
    );

    let mut meter = Meter::open(database.url.expose()).await?;

    // (a) the naive bot end to end, over the first events of the same
    // scenario from a simulator of its own.
    let naive_scenario = sim_scenario::Scenario {
        seed: scenario.seed,
        start_ms: scenario.start_ms,
        days: scenario.days,
        guilds: scenario.guilds.clone(),
        events: scenario.events[..event_total.min(profile.insert_max_events)].to_vec(),
    };
    let naive = run_naive(profile, database, &mut meter, naive_scenario).await?;
    eprintln!(
        "ingest: (a) naive bot {}",
        match naive["events_per_sec"].as_f64() {
            Some(r) => format!("{r:.0} events/s"),
            None => format!(
                "missing ({})",
                naive["status"].as_str().unwrap_or("unknown")
            ),
        }
    );

    // The real ingester, against a database holding nothing but settings.
    let since = Utc
        .timestamp_millis_opt(start_ms - 86_400_000)
        .single()
        .context("tracking start")?;
    {
        let mut conn = pool.acquire().await?;
        shared::db::bench::enable_tracking(&mut conn, &guild_ids, since).await?;
    }
    let ingester = run_ingester(profile, database, pool, &mut meter, scenario, &expected).await?;
    eprintln!(
        "ingest: ingester {}",
        match ingester["events_per_sec"].as_f64() {
            Some(r) => format!("{r:.0} events/s"),
            None => format!(
                "missing ({})",
                ingester["status"].as_str().unwrap_or("unknown")
            ),
        }
    );

    // (b) binary COPY into an unindexed table.
    let copy = {
        let baseline = baseline_pool(database).await?;
        let mark = meter.mark(APP_BASELINE).await?;
        let mut copy = copy_baseline(&baseline, &rows).await?;
        let done = meter.done(APP_BASELINE, &mark).await?;
        baseline.close().await;
        let events = copy["events"].as_u64().unwrap_or(0);
        copy["database"] = meter.figures(APP_BASELINE, &mark, &done, events).await?;
        copy
    };
    eprintln!(
        "ingest: (b) COPY {:.0} events/s",
        copy["events_per_sec"].as_f64().unwrap_or(0.0)
    );
    // (a') one INSERT per event, database only.
    let insert = {
        let baseline = baseline_pool(database).await?;
        let mark = meter.mark(APP_BASELINE).await?;
        let mut insert = insert_baseline(profile, &baseline, &rows).await?;
        let done = meter.done(APP_BASELINE, &mark).await?;
        baseline.close().await;
        let events = insert["events"].as_u64().unwrap_or(0);
        insert["database"] = meter.figures(APP_BASELINE, &mark, &done, events).await?;
        insert
    };
    eprintln!(
        "ingest: (a') INSERT per event, database only, {:.0} events/s",
        insert["events_per_sec"].as_f64().unwrap_or(0.0)
    );

    let ratio = |base: &Value| -> Value {
        match (
            ingester["events_per_sec"].as_f64(),
            base["events_per_sec"].as_f64(),
        ) {
            (Some(i), Some(b)) if b > 0.0 => json!(i / b),
            _ => Value::Null,
        }
    };
    // How many times more the naive bot costs per event than the ingester.
    let cost_ratio = |key: &str| -> Value {
        match (
            naive["database"][key].as_f64(),
            ingester["database"][key].as_f64(),
        ) {
            (Some(n), Some(i)) if i > 0.0 => json!(n / i),
            _ => Value::Null,
        }
    };
    let cpu_over_parse = match (
        ingester["ingester_cpu_us_per_event"].as_f64(),
        parse["cpu_us_per_event"].as_f64(),
    ) {
        (Some(i), Some(p)) if p > 0.0 => json!(i / p),
        _ => Value::Null,
    };
    Ok(json!({
        "events": event_total,
        "guilds": guild_ids.len(),
        "scenario": {
            "seed": SEED,
            "guilds": profile.ingest.guilds,
            "members_per_guild": profile.ingest.members_per_guild,
            "days": profile.ingest.days,
            "messages_per_member_day": profile.ingest.messages_per_member_day,
            "generate_secs": generate_secs,
            "bench_peak_rss_bytes_after_generate": bench_peak_after_generate,
        },
        "event_mix": mix,
        "ratios": {
            "ingester_over_naive": ratio(&naive),
            "ingester_over_insert": ratio(&insert),
            "ingester_over_copy": ratio(&copy),
            "ingester_over_parse": ratio(&parse),
            "naive_over_ingester_wal_bytes_per_event": cost_ratio("wal_bytes_per_event"),
            "naive_over_ingester_postgres_cpu_per_event": cost_ratio("postgres_cpu_us_per_event"),
            "naive_over_ingester_rows_written_per_event": cost_ratio("rows_written_per_event"),
            "ingester_cpu_over_parse_cpu": cpu_over_parse,
        },
        "ingester": ingester,
        "naive_bot": naive,
        "per_event_insert": insert,
        "copy_binary": copy,
        "twilight_parse": parse,
    }))
}

/// A pool of its own for a database-only baseline, under
/// [`APP_BASELINE`], so its server processes are told apart.
async fn baseline_pool(database: &DatabaseConfig) -> anyhow::Result<PgPool> {
    let config = DatabaseConfig {
        url: shared::config::Secret::new(dbcost::url_as(database.url.expose(), APP_BASELINE)),
        max_connections: 16,
        connect_timeout: Duration::from_secs(30),
        limits: shared::config::DatabaseLimits::UNLIMITED,
    };
    Ok(shared::db::connect(&config).await?)
}

/// Baseline (c): `twilight_gateway::parse` of every frame, single-threaded
/// like one shard. Frames are rendered in chunks outside the timed part.
fn parse_baseline(events: &[sim_scenario::Dispatch]) -> Value {
    let mut elapsed = Duration::ZERO;
    let mut cpu_secs = 0.0;
    let mut parsed = 0u64;
    let mut failed = 0u64;
    let mut bytes = 0u64;
    let mut seq = 0u64;
    for chunk in events.chunks(200_000) {
        let frames: Vec<String> = chunk
            .iter()
            .map(|d| {
                seq += 1;
                workload::frame(d, seq)
            })
            .collect();
        bytes += frames.iter().map(|f| f.len() as u64).sum::<u64>();
        let started = Instant::now();
        let cpu_started = workload::thread_cpu_secs();
        for frame in frames {
            match twilight_gateway::parse(frame, EventTypeFlags::all()) {
                Ok(Some(event)) => {
                    std::hint::black_box(event);
                    parsed += 1;
                }
                _ => failed += 1,
            }
        }
        elapsed += started.elapsed();
        if let (Some(start), Some(end)) = (cpu_started, workload::thread_cpu_secs()) {
            cpu_secs += end - start;
        }
    }
    json!({
        "events": parsed,
        "failed": failed,
        "frame_bytes": bytes,
        "elapsed_secs": elapsed.as_secs_f64(),
        "events_per_sec": rate(parsed, elapsed),
        "cpu_secs": cpu_secs,
        "cpu_us_per_event": if parsed > 0 && cpu_secs > 0.0 { json!(cpu_secs * 1e6 / parsed as f64) } else { Value::Null },
        "how": "twilight_gateway::parse of the simulator's frames (JSON text), one thread, EventTypeFlags::all()",
    })
}

/// Baseline (b): binary COPY of every event row, 100,000 rows a statement.
async fn copy_baseline(pool: &PgPool, rows: &[EventRow]) -> anyhow::Result<Value> {
    let mut conn = pool.acquire().await?;
    let started = Instant::now();
    let mut copied = 0;
    for chunk in rows.chunks(100_000) {
        copied += shared::db::bench::copy_events(&mut conn, chunk).await?;
    }
    let elapsed = started.elapsed();
    Ok(json!({
        "events": copied,
        "elapsed_secs": elapsed.as_secs_f64(),
        "events_per_sec": rate(copied, elapsed),
        "how": "COPY bench_event_copy FROM STDIN (FORMAT binary), 100,000 rows a statement, one connection, no key or index",
    }))
}

/// Baseline (a): one autocommitted INSERT per event from several handler
/// tasks, until the sample or the time cap runs out.
async fn insert_baseline(
    profile: &Profile,
    pool: &PgPool,
    rows: &[EventRow],
) -> anyhow::Result<Value> {
    let rows: Arc<Vec<EventRow>> =
        Arc::new(rows[..rows.len().min(profile.insert_max_events)].to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + profile.insert_time_cap;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..profile.insert_connections {
        let (rows, next, pool) = (rows.clone(), next.clone(), pool.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            loop {
                if Instant::now() >= deadline {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(row) = rows.get(i) else { break };
                shared::db::bench::insert_event(&pool, row).await?;
                done += 1;
            }
            anyhow::Ok(done)
        }));
    }
    let mut inserted = 0;
    for task in tasks {
        inserted += task.await.context("insert task")??;
    }
    let elapsed = started.elapsed();
    Ok(json!({
        "events": inserted,
        "elapsed_secs": elapsed.as_secs_f64(),
        "events_per_sec": rate(inserted, elapsed),
        "connections": profile.insert_connections,
        "how": format!(
            "INSERT INTO bench_event_log (identity primary key, index on (guild_id, at)), one autocommitted statement per event, {} concurrent connections, the first {} events or {} s",
            profile.insert_connections,
            profile.insert_max_events,
            profile.insert_time_cap.as_secs()
        ),
    }))
}

/// `BENCH_INGESTER_WRAPPER`, split on spaces: a command the ingester child
/// runs under (a profiler such as `valgrind --tool=callgrind`).
pub(crate) fn wrapper() -> Option<Vec<String>> {
    let words: Vec<String> = std::env::var("BENCH_INGESTER_WRAPPER")
        .ok()?
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    (!words.is_empty()).then_some(words)
}

pub(crate) struct IngesterProcess {
    child: Child,
    stderr_path: std::path::PathBuf,
}

impl IngesterProcess {
    pub(crate) fn spawn(env: &[(&str, String)]) -> anyhow::Result<Self> {
        Self::spawn_as(crate::INGESTER_CHILD, env, false)
    }

    /// `serverpulse-bench <subcommand>` with `env`; `piped`: its standard
    /// input and output are pipes (the naive bot's), else null.
    pub(crate) fn spawn_as(
        subcommand: &str,
        env: &[(&str, String)],
        piped: bool,
    ) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("locating serverpulse-bench")?;
        let stderr_path = std::env::temp_dir().join(format!(
            "serverpulse-bench{subcommand}-{}.log",
            std::process::id()
        ));
        let stderr = std::fs::File::create(&stderr_path).context("child log file")?;
        let stdio = || if piped { Stdio::piped() } else { Stdio::null() };
        let mut command = match wrapper().filter(|_| subcommand == crate::INGESTER_CHILD) {
            Some(words) => {
                let mut command = std::process::Command::new(&words[0]);
                command.args(&words[1..]).arg(exe);
                command
            }
            None => std::process::Command::new(exe),
        };
        command
            .arg(subcommand)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .stdin(stdio())
            .stdout(stdio())
            .stderr(stderr);
        for (key, value) in env {
            command.env(key, value);
        }
        Ok(Self {
            child: command
                .spawn()
                .with_context(|| format!("starting serverpulse-bench {subcommand}"))?,
            stderr_path,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    pub(crate) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(5)..].join("\n")
    }

    /// SIGTERM, then up to 20 s for a graceful exit, then SIGKILL.
    pub(crate) fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for IngesterProcess {
    fn drop(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_file(&self.stderr_path);
    }
}

/// Streams the scenario to the ingester and times it from the first event
/// handed out to the checkpoint of the last one committed.
async fn run_ingester(
    profile: &Profile,
    database: &DatabaseConfig,
    pool: &PgPool,
    meter: &mut Meter,
    scenario: sim_scenario::Scenario,
    expected: &HashMap<u64, TruthTotals>,
) -> anyhow::Result<Value> {
    let total = scenario.events.len();
    let shards = profile.ingest_shards;
    let sim = discord_sim::start(discord_sim::SimConfig::new(TOKEN), scenario)
        .await
        .context("starting the simulator")?;
    let port = shared::testing::free_port();
    let mut mark = meter.mark(APP_INGESTER).await?;
    let mut process = IngesterProcess::spawn(&[
        (
            "DATABASE_URL",
            dbcost::url_as(database.url.expose(), APP_INGESTER),
        ),
        ("DISCORD_TOKEN", TOKEN.to_owned()),
        ("DISCORD_API_URL", sim.rest.api_url().to_owned()),
        ("DISCORD_GATEWAY_URL", sim.gateway.url().to_owned()),
        ("INGESTER_PORT", port.to_string()),
        ("SHARD_TOTAL", shards.to_string()),
        ("RUST_LOG", "warn".to_owned()),
    ])?;
    let pid = process.pid();
    let spawned = Instant::now();
    let base = json!({
        "how": "serverpulse_ingester::run in a child process of its own (serverpulse-bench __ingester, the same code as the serverpulse-ingester binary), SHARD_TOTAL shards in the one process, simulator pacing: as fast as it reads; timed from the first event handed out to the shard checkpoint covering the last one",
        "rss_source": format!("VmHWM of the child process (/proc/{pid}/status)"),
    });
    let missing = |mut base: Value, status: String| {
        base["status"] = json!(status);
        base["events_per_sec"] = Value::Null;
        base
    };

    // Connect: the ingester must identify within 30 s.
    let identify_deadline =
        Instant::now() + Duration::from_secs(if wrapper().is_some() { 300 } else { 30 });
    let mut first_event: Option<Instant> = None;
    while first_event.is_none() {
        if let Some(status) = process.exited() {
            sim.shutdown().await;
            return Ok(missing(
                base,
                format!("ingester exited early ({status}): {}", process.log_tail()),
            ));
        }
        let sent: usize = (0..shards)
            .filter_map(|i| sim.gateway.shard_progress([i, shards]))
            .map(|(sent, _)| sent)
            .sum();
        if sent > 0 {
            first_event = Some(Instant::now());
            break;
        }
        if Instant::now() > identify_deadline {
            let identified = sim.gateway.identify_count();
            process.stop();
            sim.shutdown().await;
            return Ok(missing(
                base,
                format!(
                    "missing: the ingester did not take any event within 30 s ({identified} identifies); it has not landed or does not connect"
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let first_event = first_event.expect("set above");
    meter.restart(APP_INGESTER, &mut mark).await?;
    let own_pid = std::process::id();
    let cpu_at_start = (workload::cpu_secs(pid), workload::cpu_secs(own_pid));
    let machine_at_start = workload::machine_ticks();
    let connect_secs = (first_event - spawned).as_secs_f64();

    // Wait for the last event's checkpoint (a profiler slows it down).
    let timeout = if wrapper().is_some() {
        profile.ingest_timeout * 30
    } else {
        profile.ingest_timeout
    };
    let deadline = first_event + timeout;
    let mut last_seqs: Vec<Option<u64>> = vec![None; shards as usize];
    let mut committed: Vec<i64> = vec![0; shards as usize];
    let finished = loop {
        if let Some(status) = process.exited() {
            sim.shutdown().await;
            return Ok(missing(
                base,
                format!(
                    "ingester exited during the run ({status}): {}",
                    process.log_tail()
                ),
            ));
        }
        let mut sent = 0;
        for i in 0..shards {
            let (shard_sent, shard_total) = sim
                .gateway
                .shard_progress([i, shards])
                .unwrap_or((0, usize::MAX));
            sent += shard_sent;
            if last_seqs[i as usize].is_none() && shard_sent >= shard_total {
                last_seqs[i as usize] = last_sequence_sent(&sim, [i, shards]);
            }
            committed[i as usize] = shared::db::ingest::load_checkpoint(pool, i, shards)
                .await?
                .and_then(|c| c.sequence)
                .unwrap_or(0);
        }
        let done = last_seqs
            .iter()
            .zip(&committed)
            .all(|(last, committed)| last.is_some_and(|seq| *committed as u64 >= seq));
        if done {
            break Instant::now();
        }
        if Instant::now() > deadline {
            let (rss, peak) = workload::memory_of(pid);
            process.stop();
            sim.shutdown().await;
            let mut result = missing(
                base,
                format!(
                    "timed out after {} s: {sent} of {total} events handed out, checkpoints at seq {committed:?} of {last_seqs:?}",
                    timeout.as_secs()
                ),
            );
            result["rss_bytes"] = json!(rss);
            result["peak_rss_bytes"] = json!(peak);
            return Ok(result);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let elapsed = finished - first_event;
    let done = meter.done(APP_INGESTER, &mark).await?;
    let (rss, peak) = workload::memory_of(pid);
    let cpu_used = |start: Option<f64>, end: Option<f64>| match (start, end) {
        (Some(s), Some(e)) => json!(e - s),
        _ => Value::Null,
    };
    let ingester_cpu = cpu_used(cpu_at_start.0, workload::cpu_secs(pid));
    let simulator_cpu = cpu_used(cpu_at_start.1, workload::cpu_secs(own_pid));
    let machine_busy = match (machine_at_start, workload::machine_ticks()) {
        (Some((busy0, total0)), Some((busy1, total1))) if total1 > total0 => {
            json!((busy1 - busy0) as f64 / (total1 - total0) as f64)
        }
        _ => Value::Null,
    };
    let exit = process.stop();
    let sessions = sim.gateway.sessions().len();
    sim.shutdown().await;
    let database_figures = meter
        .figures(APP_INGESTER, &mark, &done, total as u64)
        .await?;

    let check = truth_check(pool, expected).await?;
    let mut result = base;
    result["status"] = json!("ok");
    result["events"] = json!(total);
    result["elapsed_secs"] = json!(elapsed.as_secs_f64());
    result["events_per_sec"] = json!(rate(total as u64, elapsed));
    result["connect_secs"] = json!(connect_secs);
    result["shards"] = json!(shards);
    result["last_sequences"] = json!(committed);
    result["gateway_sessions"] = json!(sessions);
    result["rss_bytes_at_end"] = json!(rss);
    result["peak_rss_bytes"] = json!(peak);
    result["graceful_exit"] = json!(exit.is_some_and(|s| s.success()));
    result["ingester_cpu_secs"] = ingester_cpu.clone();
    result["events_per_ingester_cpu_sec"] = ingester_cpu
        .as_f64()
        .map_or(Value::Null, |c| json!(total as f64 / c.max(1e-9)));
    result["ingester_cpu_us_per_event"] = ingester_cpu
        .as_f64()
        .map_or(Value::Null, |c| json!(c * 1e6 / total.max(1) as f64));
    result["database"] = database_figures;
    // The bench process does little else than serve the simulator then.
    result["simulator_cpu_secs"] = simulator_cpu;
    // All cores: the rest of the busy time is mostly PostgreSQL (and
    // whatever else the machine runs).
    result["machine_busy_fraction"] = machine_busy;
    result["truth_check"] = check;
    Ok(result)
}

/// Baseline (a): the naive bot ([`crate::naive`]) in a child process,
/// reading `scenario` from a simulator of its own, timed from the first
/// event handed out to the moment it reports its last INSERT committed.
async fn run_naive(
    profile: &Profile,
    database: &DatabaseConfig,
    meter: &mut Meter,
    scenario: sim_scenario::Scenario,
) -> anyhow::Result<Value> {
    let total = scenario.events.len();
    let sim = discord_sim::start(discord_sim::SimConfig::new(TOKEN), scenario)
        .await
        .context("starting the simulator")?;
    let mut mark = meter.mark(APP_NAIVE).await?;
    let mut process = IngesterProcess::spawn_as(
        crate::naive::NAIVE_CHILD,
        &[
            (
                "DATABASE_URL",
                dbcost::url_as(database.url.expose(), APP_NAIVE),
            ),
            ("DISCORD_TOKEN", TOKEN.to_owned()),
            ("DISCORD_GATEWAY_URL", sim.gateway.url().to_owned()),
            ("NAIVE_EVENTS", total.to_string()),
            (
                "NAIVE_TIME_CAP_MS",
                profile.insert_time_cap.as_millis().to_string(),
            ),
            ("NAIVE_CONNECTIONS", profile.insert_connections.to_string()),
        ],
        true,
    )?;
    let pid = process.pid();
    let mut base = json!({
        "how": format!(
            "serverpulse-bench __naive_bot in a child process: the ingester's twilight shard and intents on a simulator of its own, every event deserialized into twilight's models (EventTypeFlags::all()) and stored with one autocommitted INSERT into bench_event_log (identity primary key, index on (guild_id, at)), {} in flight on {} connections; the first {} events or {} s; timed from the first event handed out to the report that the last INSERT committed",
            profile.insert_connections,
            profile.insert_connections,
            profile.insert_max_events,
            profile.insert_time_cap.as_secs()
        ),
    });
    let stdout = process
        .child
        .stdout
        .take()
        .context("the naive bot's stdout")?;
    let (line_tx, mut line_rx) = tokio::sync::oneshot::channel::<String>();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = line_tx.send(line);
    });

    let connect_deadline = Instant::now() + Duration::from_secs(30);
    let first_event = loop {
        if let Some(status) = process.exited() {
            sim.shutdown().await;
            base["status"] = json!(format!(
                "the naive bot exited early ({status}): {}",
                process.log_tail()
            ));
            return Ok(base);
        }
        if sim
            .gateway
            .shard_progress([0, 1])
            .is_some_and(|(sent, _)| sent > 0)
        {
            break Instant::now();
        }
        if Instant::now() > connect_deadline {
            process.stop();
            sim.shutdown().await;
            base["status"] = json!("the naive bot took no event within 30 s");
            return Ok(base);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    meter.restart(APP_NAIVE, &mut mark).await?;
    let cpu_at_start = workload::cpu_secs(pid);
    let deadline = first_event + profile.insert_time_cap + Duration::from_secs(60);
    let line = loop {
        match line_rx.try_recv() {
            Ok(line) => break line,
            Err(tokio::sync::oneshot::error::TryRecvError::Closed) => String::new(),
            Err(tokio::sync::oneshot::error::TryRecvError::Empty) => {
                if Instant::now() > deadline {
                    String::new()
                } else {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    continue;
                }
            }
        };
    };
    let finished = Instant::now();
    let done = meter.done(APP_NAIVE, &mark).await?;
    let bot_cpu = match (cpu_at_start, workload::cpu_secs(pid)) {
        (Some(s), Some(e)) => Some(e - s),
        _ => None,
    };
    // Closing its stdin lets it disconnect and exit.
    drop(process.child.stdin.take());
    let exit_deadline = Instant::now() + Duration::from_secs(20);
    while process.exited().is_none() && Instant::now() < exit_deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = process.log_tail();
    process.stop();
    sim.shutdown().await;
    let report: Value = match serde_json::from_str(line.trim()) {
        Ok(report) => report,
        Err(_) => {
            base["status"] = json!(format!("the naive bot did not report: {log}"));
            return Ok(base);
        }
    };
    let events = report["events"].as_u64().unwrap_or(0);
    let elapsed = finished - first_event;
    base["status"] = json!("ok");
    base["events"] = json!(events);
    base["failed_inserts"] = report["failed"].clone();
    base["elapsed_secs"] = json!(elapsed.as_secs_f64());
    base["events_per_sec"] = json!(rate(events, elapsed));
    base["connections"] = json!(profile.insert_connections);
    base["bot_cpu_secs"] = json!(bot_cpu);
    base["bot_cpu_us_per_event"] =
        bot_cpu.map_or(Value::Null, |c| json!(c * 1e6 / events.max(1) as f64));
    base["database"] = meter.figures(APP_NAIVE, &mark, &done, events).await?;
    Ok(base)
}

/// The sequence number of the last frame written to a shard's sessions.
fn last_sequence_sent(sim: &discord_sim::SimHandle, shard: [u32; 2]) -> Option<u64> {
    sim.gateway
        .sessions()
        .into_iter()
        .filter(|s| s.shard == shard)
        .filter_map(|s| {
            s.frames
                .iter()
                .rev()
                .find(|f| !f.sends.is_empty())
                .map(|f| f.seq)
        })
        .max()
}

/// Per guild: messages, reactions and voice seconds in the rollups against
/// the generator's ground truth.
async fn truth_check(pool: &PgPool, expected: &HashMap<u64, TruthTotals>) -> anyhow::Result<Value> {
    let ingested: HashMap<u64, shared::db::bench::IngestedTotals> =
        shared::db::bench::ingested_totals(pool)
            .await?
            .into_iter()
            .map(|t| (t.guild_id.0, t))
            .collect();
    let mut matching = 0;
    let mut mismatches = Vec::new();
    let mut sums = [0i64; 4];
    let mut truth_sums = [0i64; 4];
    for (guild, truth) in expected {
        let got = ingested.get(guild).copied().unwrap_or_default();
        let got_figures = [
            got.messages,
            got.reactions_added,
            got.reactions_removed,
            got.voice_seconds,
        ];
        let truth_figures = [
            truth.messages,
            truth.reactions_added,
            truth.reactions_removed,
            truth.voice_seconds,
        ];
        for i in 0..4 {
            sums[i] += got_figures[i];
            truth_sums[i] += truth_figures[i];
        }
        let consistent =
            got.message_rows_total == got.messages && got.voice_rows_total == got.voice_seconds;
        if got_figures == truth_figures && consistent {
            matching += 1;
        } else if mismatches.len() < 5 {
            mismatches.push(json!({
                "guild_id": guild.to_string(),
                "ingested": {
                    "messages": got.messages, "reactions_added": got.reactions_added,
                    "reactions_removed": got.reactions_removed, "voice_seconds": got.voice_seconds,
                    "message_rollup_messages": got.message_rows_total, "voice_rollup_seconds": got.voice_rows_total,
                },
                "truth": truth,
            }));
        }
    }
    let names = [
        "messages",
        "reactions_added",
        "reactions_removed",
        "voice_seconds",
    ];
    let totals: serde_json::Map<String, Value> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            (
                n.to_string(),
                json!({"ingested": sums[i], "truth": truth_sums[i]}),
            )
        })
        .collect();
    Ok(json!({
        "what": "per guild: guild_hourly messages (all authors), reactions added and removed, voice seconds (bots included) equal the generator's facts, and message_rollup / voice_rollup add up to guild_hourly",
        "guilds_checked": expected.len(),
        "guilds_matching": matching,
        "ok": matching == expected.len(),
        "totals": totals,
        "first_mismatches": mismatches,
    }))
}
