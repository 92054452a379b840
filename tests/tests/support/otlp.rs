//! An OpenTelemetry collector for the journeys: an OTLP/HTTP receiver on loopback that keeps
//! every span kesos processes export, so a test can follow one trace across them.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use kesos_proto::prost::Message;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;

/// A span as the collector received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The exporting process's `service.name`.
    pub service: String,
    /// Its `kesos.services` resource attribute.
    pub services: String,
    /// The span's name.
    pub name: String,
    /// Hex ids.
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
}

/// The receiver; stops with the test's runtime.
pub struct Collector {
    /// The base URL to give kesos as `KESOS_OTLP_ENDPOINT`.
    pub endpoint: String,
    spans: Arc<Mutex<Vec<Received>>>,
}

impl Collector {
    /// Listens on a free loopback port.
    pub async fn start() -> Self {
        let spans = Arc::new(Mutex::new(Vec::new()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/v1/traces", post(receive))
            .with_state(spans.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { endpoint, spans }
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<Received> {
        self.spans.lock().unwrap().clone()
    }

    /// The spans of one trace.
    pub fn trace(&self, trace_id: &str) -> Vec<Received> {
        self.spans()
            .into_iter()
            .filter(|span| span.trace_id == trace_id)
            .collect()
    }
}

async fn receive(
    State(spans): State<Arc<Mutex<Vec<Received>>>>,
    body: Bytes,
) -> ([(&'static str, &'static str); 1], Vec<u8>) {
    let request = ExportTraceServiceRequest::decode(body).unwrap();
    let mut received = Vec::new();
    for resource_spans in request.resource_spans {
        let attribute = |key: &str| {
            resource_spans
                .resource
                .as_ref()
                .and_then(|resource| resource.attributes.iter().find(|kv| kv.key == key))
                .and_then(|kv| kv.value.as_ref())
                .and_then(|value| match &value.value {
                    Some(AnyValue::StringValue(text)) => Some(text.clone()),
                    _ => None,
                })
                .unwrap_or_default()
        };
        let (service, services) = (attribute("service.name"), attribute("kesos.services"));
        for scope in &resource_spans.scope_spans {
            for span in &scope.spans {
                received.push(Received {
                    service: service.clone(),
                    services: services.clone(),
                    name: span.name.clone(),
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                });
            }
        }
    }
    spans.lock().unwrap().extend(received);
    (
        [("content-type", "application/x-protobuf")],
        ExportTraceServiceResponse::default().encode_to_vec(),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
