//! What the bus records in the process's metrics, the same for every reader: deliveries (from
//! JetStream, which knows a consumer's backlog and redeliveries) and dead letters (from any
//! feed, the embedded one included).

use async_nats::jetstream;

/// One delivery in the metrics: `kesos_consumer_pending_messages`, JetStream's count of the
/// consumer's messages still waiting after this one (its lag), and
/// `kesos_consumer_redeliveries_total` when the message had been delivered before. Shared by
/// every JetStream reader: the event consumers, the projectors and the LSPS inbox.
pub fn record_delivery(consumer: &str, message: &jetstream::Message) {
    let Ok(info) = message.info() else {
        return;
    };
    metrics::gauge!("kesos_consumer_pending_messages", "consumer" => consumer.to_owned())
        .set(info.pending as f64);
    if info.delivered > 1 {
        metrics::counter!("kesos_consumer_redeliveries_total", "consumer" => consumer.to_owned())
            .increment(1);
    }
}

/// One dead letter in the metrics (`kesos_dead_letters_total`), by consumer and a reason from
/// a small fixed set (`undecodable`, `refused`, or an LSPS rule), never the free text. Called
/// where a reader decides to dead-letter, whatever its feed.
pub fn record_dead_letter(consumer: &str, reason: &str) {
    metrics::counter!(
        "kesos_dead_letters_total",
        "consumer" => consumer.to_owned(),
        "reason" => reason.to_owned()
    )
    .increment(1);
}
