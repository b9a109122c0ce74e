//! A signing client over the in-process router that times each answer,
//! deferred ones included.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use chrono::Utc;
use discord_sim::interactions::{
    InteractionKeys, InteractionKind, Invoker, fresh_id, fresh_token, interaction_payload,
};
use serde_json::{Value, json};
use tower::ServiceExt as _;

use super::cases::CommandCase;
use super::{DEFERRED_TIMEOUT, percentile};
use crate::seed::SeededGuild;

pub(crate) struct Client<'a> {
    pub(crate) router: Router,
    pub(crate) keys: InteractionKeys,
    pub(crate) sim: &'a discord_sim::SimHandle,
}

/// How one request went.
pub(crate) struct Outcome {
    pub(crate) latency: Duration,
    pub(crate) ok: bool,
    pub(super) deferred: bool,
    /// The final message carried files (a chart).
    pub(super) chart: bool,
    pub(super) status: u16,
}

impl Client<'_> {
    /// Signs and sends one interaction through the router, and for a
    /// deferred answer waits for the edit of `@original`: the latency is
    /// what the user waits for (server side, no network).
    pub(crate) async fn send(&self, kind: &InteractionKind, invoker: &Invoker) -> Outcome {
        let id = fresh_id();
        let token = fresh_token();
        self.sim.rest.register_interaction(id, &token);
        let body = interaction_payload(
            kind,
            invoker,
            discord_sim::DEFAULT_APPLICATION_ID,
            id,
            &token,
        )
        .to_string();
        let timestamp = Utc::now().timestamp().to_string();
        let signature = self.keys.sign(&timestamp, body.as_bytes());
        let request = axum::http::Request::post("/interactions")
            .header("content-type", "application/json")
            .header("x-signature-ed25519", signature)
            .header("x-signature-timestamp", timestamp)
            .body(Body::from(body))
            .expect("a valid request");
        let started = Instant::now();
        let response = match self.router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 64 << 20)
            .await
            .unwrap_or_default();
        let answer: Option<Value> = serde_json::from_slice(&bytes).ok();
        let callback_type = answer.as_ref().and_then(|a| a["type"].as_u64());
        let mut outcome = Outcome {
            latency: started.elapsed(),
            ok: status == 200 && callback_type.is_some(),
            deferred: false,
            chart: false,
            status,
        };
        let deferred = status == 202 || matches!(callback_type, Some(5 | 6));
        if deferred {
            outcome.deferred = true;
            // The HTTP answer is deliberately not reported to the simulator:
            // the edit of @original may already be on its way, and the
            // simulator accepts it while it awaits the answer.
            match self.wait_for_final(&token).await {
                Some(files) => outcome.chart = files,
                None => outcome.ok = false,
            }
            outcome.latency = started.elapsed();
        }
        outcome
    }

    /// Waits until the interaction has its final message (an edit of
    /// `@original`, or a type 4/7 callback); tells whether it has files.
    pub(super) async fn wait_for_final(&self, token: &str) -> Option<bool> {
        let deadline = Instant::now() + DEFERRED_TIMEOUT;
        let mut version = 0;
        while Instant::now() < deadline {
            let record = self
                .sim
                .rest
                .wait_for_interaction(token, version, deadline - Instant::now())
                .await?;
            if record.original_edits > 0 || matches!(record.callback_type, Some(4 | 7)) {
                return Some(record.original.is_some_and(|m| !m.files.is_empty()));
            }
            version = record.version;
        }
        None
    }

    pub(super) async fn latency(
        &self,
        case: &CommandCase,
        guild: &SeededGuild,
        concurrency: usize,
        requests: usize,
        budget: Duration,
    ) -> Value {
        let kind = InteractionKind::Command {
            name: case.name.clone(),
            options: case.options.clone(),
        };
        let invoker = Invoker::admin(guild.guild_id.0, guild.busiest_channel.0);
        // One warm-up request: connections, prepared statements, fonts.
        let warm = self.send(&kind, &invoker).await;
        // At least one full wave (and 5 requests); past the time budget no
        // new request starts, so slow commands keep the run bounded.
        let minimum = concurrency.max(5);
        let requests = requests.max(minimum);
        let next = AtomicUsize::new(0);
        let results = std::sync::Mutex::new(Vec::with_capacity(requests));
        let started = Instant::now();
        let worker = || async {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests || (i >= minimum && started.elapsed() > budget) {
                    break;
                }
                let outcome = self.send(&kind, &invoker).await;
                results.lock().expect("not poisoned").push(outcome);
            }
        };
        futures_util::future::join_all((0..concurrency).map(|_| worker())).await;
        let wall = started.elapsed();
        let results = results.into_inner().expect("not poisoned");
        let failed = results.iter().filter(|o| !o.ok).count();
        let deferred = results.iter().filter(|o| o.deferred).count();
        let chart = warm.chart || results.iter().any(|o| o.chart);
        let mut millis: Vec<f64> = results
            .iter()
            .map(|o| o.latency.as_secs_f64() * 1e3)
            .collect();
        millis.sort_by(f64::total_cmp);
        let status = if failed == 0 {
            "ok".to_owned()
        } else {
            format!(
                "{failed} of {} failed (HTTP {})",
                results.len(),
                results
                    .iter()
                    .find(|o| !o.ok)
                    .map_or(warm.status, |o| o.status)
            )
        };
        json!({
            "command": case.label,
            "chart": chart,
            "concurrency": concurrency,
            "requests": results.len(),
            "deferred": deferred,
            "status": status,
            "p50_ms": percentile(&millis, 0.50),
            "p99_ms": percentile(&millis, 0.99),
            "max_ms": millis.last(),
            "requests_per_sec": results.len() as f64 / wall.as_secs_f64().max(1e-9),
            "overview_timeframe": case.overview_timeframe,
            "expected_chart": case.expected_chart,
        })
    }
}
