use super::*;
use opentelemetry::trace::TracerProvider as _;
use tracing_subscriber::layer::SubscriberExt;

const EXAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn traced<T>(body: impl FnOnce() -> T) -> T {
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    tracing::subscriber::with_default(subscriber, body)
}

#[test]
fn the_recommendations_example_parses_and_prints_back_the_same() {
    let parent = TraceParent::parse(EXAMPLE).unwrap();
    assert_eq!(parent.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(parent.parent_id(), "00f067aa0ba902b7");
    assert!(parent.sampled());
    assert_eq!(parent.to_string(), EXAMPLE);
}

#[test]
fn malformed_values_are_ignored_rather_than_refused() {
    for bad in [
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01é",
    ] {
        assert_eq!(TraceParent::parse(bad), None, "{bad:?}");
    }
}

#[test]
fn a_later_version_is_read_for_its_first_fields_and_passed_on_as_version_00() {
    let later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes-next";
    assert_eq!(TraceParent::parse(later).unwrap().to_string(), EXAMPLE);
}

#[test]
fn only_the_sampled_flag_is_passed_on() {
    let flags = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff";
    assert_eq!(TraceParent::parse(flags).unwrap().to_string(), EXAMPLE);
}

#[test]
fn a_span_continues_the_callers_trace_and_passes_on_its_own_id() {
    traced(|| {
        let span = tracing::info_span!("request", trace_id = tracing::field::Empty);
        let trace_id = continue_trace(&span, Some(EXAMPLE)).unwrap();
        assert_eq!(trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        let inside = span.in_scope(current).unwrap();
        assert_eq!(inside.trace_id(), trace_id);
        assert_ne!(inside.parent_id(), "00f067aa0ba902b7", "its own span id");
        assert_eq!(span.in_scope(current_text), inside.to_string());
    });
}

#[test]
fn a_span_without_a_usable_parent_starts_a_new_trace() {
    traced(|| {
        let span = tracing::info_span!("request", trace_id = tracing::field::Empty);
        let trace_id = continue_trace(&span, Some("garbage")).unwrap();
        assert_eq!(trace_id.len(), 32);
        assert_ne!(trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    });
}

#[test]
fn outside_any_traced_span_there_is_no_current_trace() {
    assert_eq!(current(), None);
    assert_eq!(current_text(), "");
    let span = tracing::info_span!("untraced");
    assert_eq!(continue_trace(&span, Some(EXAMPLE)), None);
}
