//! Commands before imports: the interactions endpoint counts the answers
//! it is computing, and the backfill worker waits while there are any
//! before it reads or writes a page, so an import running beside commands
//! takes the database and the CPU between answers instead of during them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// How often a waiting import looks again.
const POLL: Duration = Duration::from_millis(5);

/// The answers of this process being computed now.
#[derive(Clone, Debug, Default)]
pub struct CommandsInFlight(Arc<AtomicUsize>);

/// One answer being computed; dropped when it is done.
#[derive(Debug)]
pub struct Answering(Arc<AtomicUsize>);

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Release);
    }
}

impl CommandsInFlight {
    /// Counts one answer until the guard is dropped.
    pub fn enter(&self) -> Answering {
        self.0.fetch_add(1, Ordering::Acquire);
        Answering(self.0.clone())
    }

    pub fn count(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }

    /// Waits until no answer is being computed, or `limit` passed (so a
    /// steady stream of commands slows an import down, never stops it);
    /// returns how long it waited.
    pub async fn yield_to_commands(&self, limit: Duration) -> Duration {
        let started = tokio::time::Instant::now();
        while self.count() > 0 && started.elapsed() < limit {
            tokio::time::sleep(POLL).await;
        }
        started.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_import_waits_for_answers_in_flight_up_to_its_limit() {
        let commands = CommandsInFlight::default();
        // Nothing in flight: no wait at all (a limit of an hour is not reached).
        commands.yield_to_commands(Duration::from_secs(3600)).await;
        let answering = commands.enter();
        assert_eq!(commands.count(), 1);
        let waiting = {
            let commands = commands.clone();
            tokio::spawn(async move { commands.yield_to_commands(Duration::from_secs(60)).await })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(answering);
        waiting.await.unwrap();
        assert_eq!(commands.count(), 0);
        // A command that never ends holds an import back only up to the limit.
        let _stuck = commands.enter();
        commands.yield_to_commands(Duration::from_millis(20)).await;
    }
}
