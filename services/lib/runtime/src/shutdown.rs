//! Graceful shutdown: one signal, seen by every server loop.
//!
//! Each loop takes a [`Shutdown`] (as in mini-redis's `server::run(listener, shutdown)`) and
//! selects on [`Shutdown::wait`] next to its work. The binary gets its handle from
//! [`Shutdown::on_signals`]; tests create one with [`Shutdown::new`] and call
//! [`Shutdown::trigger`], so stopping is tested without sending signals.

use std::sync::Arc;

use tokio::sync::watch;

/// A cloneable "stop now" flag: once triggered it stays triggered, and every clone sees it.
///
/// A `watch` channel rather than `broadcast` or `Notify`: a task that starts waiting after the
/// trigger must still return at once, so the state, not the event, is what is shared.
#[derive(Debug, Clone)]
pub struct Shutdown {
    sender: Arc<watch::Sender<bool>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A handle that is not triggered; only [`Shutdown::trigger`] will trigger it.
    pub fn new() -> Self {
        let (sender, _receiver) = watch::channel(false);
        Shutdown {
            sender: Arc::new(sender),
        }
    }

    /// Asks every holder of a clone to stop. Idempotent.
    pub fn trigger(&self) {
        // `send_replace` rather than `send`: it updates the value even when nobody is waiting.
        self.sender.send_replace(true);
    }

    /// Whether [`Shutdown::trigger`] has been called on this handle or any clone.
    pub fn is_triggered(&self) -> bool {
        *self.sender.borrow()
    }

    /// Returns once the handle is triggered, immediately if it already is. Cancel-safe, so it
    /// can sit in a `tokio::select!` loop.
    pub async fn wait(&self) {
        let mut receiver = self.sender.subscribe();
        // `wait_for` fails only when the sender is dropped, and `self` keeps it alive.
        let _ = receiver.wait_for(|triggered| *triggered).await;
    }

    /// A handle triggered by SIGINT (Ctrl-C) or, on Unix, SIGTERM (what `docker stop` and
    /// Kubernetes send).
    ///
    /// The handlers are installed before this returns, so a signal arriving just after is not
    /// lost. A handler that cannot be installed is logged and the other still works.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, as `tokio::spawn` does.
    pub fn on_signals() -> Shutdown {
        let shutdown = Shutdown::new();
        let listener = signals::Listener::install();
        let trigger = shutdown.clone();
        tokio::spawn(async move {
            let name = listener.recv().await;
            tracing::info!(signal = name, "shutdown requested");
            trigger.trigger();
        });
        shutdown
    }
}

#[cfg(unix)]
mod signals {
    use tokio::signal::unix::{Signal, SignalKind, signal};

    /// SIGINT and SIGTERM streams, registered eagerly.
    pub(super) struct Listener {
        interrupt: Option<Signal>,
        terminate: Option<Signal>,
    }

    impl Listener {
        pub(super) fn install() -> Self {
            Listener {
                interrupt: register(SignalKind::interrupt(), "SIGINT"),
                terminate: register(SignalKind::terminate(), "SIGTERM"),
            }
        }

        /// Waits for the first of the installed signals and returns its name; never returns if
        /// none could be installed (the default dispositions then still end the process).
        pub(super) async fn recv(mut self) -> &'static str {
            let interrupt = async {
                match self.interrupt.as_mut() {
                    Some(signal) => signal.recv().await,
                    None => std::future::pending().await,
                }
            };
            let terminate = async {
                match self.terminate.as_mut() {
                    Some(signal) => signal.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = interrupt => "SIGINT",
                _ = terminate => "SIGTERM",
            }
        }
    }

    fn register(kind: SignalKind, name: &'static str) -> Option<Signal> {
        signal(kind)
            .inspect_err(|error| tracing::warn!(signal = name, %error, "cannot handle signal"))
            .ok()
    }
}

#[cfg(not(unix))]
mod signals {
    /// Ctrl-C only: other platforms have no SIGTERM.
    pub(super) struct Listener;

    impl Listener {
        pub(super) fn install() -> Self {
            Listener
        }

        pub(super) async fn recv(self) -> &'static str {
            match tokio::signal::ctrl_c().await {
                Ok(()) => "Ctrl-C",
                Err(error) => {
                    tracing::warn!(%error, "cannot handle Ctrl-C");
                    std::future::pending().await
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const PATIENCE: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn triggering_wakes_every_waiter() {
        let shutdown = Shutdown::new();
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let shutdown = shutdown.clone();
                tokio::spawn(async move { shutdown.wait().await })
            })
            .collect();
        tokio::task::yield_now().await;
        assert!(!shutdown.is_triggered());

        shutdown.trigger();

        for waiter in waiters {
            tokio::time::timeout(PATIENCE, waiter)
                .await
                .unwrap()
                .unwrap();
        }
        assert!(shutdown.is_triggered());
    }

    #[tokio::test]
    async fn waiting_after_the_trigger_returns_at_once() {
        let shutdown = Shutdown::new();
        shutdown.clone().trigger();
        tokio::time::timeout(PATIENCE, shutdown.wait())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn an_untriggered_handle_keeps_waiting() {
        let shutdown = Shutdown::new();
        let waited = tokio::time::timeout(Duration::from_millis(20), shutdown.wait()).await;
        assert!(waited.is_err());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn sigterm_triggers_the_signal_handle() {
        let shutdown = Shutdown::on_signals();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &std::process::id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        tokio::time::timeout(PATIENCE, shutdown.wait())
            .await
            .unwrap();
    }
}
