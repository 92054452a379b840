//! Routes that cannot exist without an access rule and a description: a [`Secured`] table is
//! built from `(method, path, action, handler, operation)` entries. From the one table come the
//! router (each route wrapped in the gate's check for its action), the gate's policy (the list
//! of [`Rule`]s, which tests walk and the start-up banner prints) and the table's part of the
//! OpenAPI document ([`ApiPart`]), so no route is served undocumented or documented unserved.
//!
//! What the access rule implies is added to each operation here rather than written per route:
//! a public action needs no token (`security: []`), any other the bearer token and may answer
//! 401 and 403; a rate-limited one may answer 429; a route with path parameters declares them
//! and may answer 404; one that reads input may answer 400.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::{Next, from_fn};
use axum::routing::{MethodFilter, MethodRouter, on};

use kesos_http::openapi::{Operation, path_parameters};
use serde_json::{Map, Value};
use utoipa::openapi::path::{HttpMethod, Paths};
use utoipa::openapi::security::SecurityRequirement;

use crate::gate::check;
use crate::policy::Action;

/// The security scheme every non-public operation names: the bearer token of `kesos token
/// issue`.
pub const BEARER: &str = "bearer";

/// One route's access rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The HTTP method.
    pub method: Method,
    /// The path as the router knows it (`/v1/workers/{worker_id}`).
    pub path: &'static str,
    /// What the route does.
    pub action: Action,
}

/// A table's part of the OpenAPI document: its paths, and the component schemas they refer to.
#[derive(Clone, Default)]
pub struct ApiPart {
    /// Every route's operation, by path and method.
    pub paths: Paths,
    /// The named schemas the operations refer to (`#/components/schemas/{name}`), as JSON.
    pub schemas: Map<String, Value>,
}

impl ApiPart {
    /// Adds another table's part (a path both describe keeps the operations of each).
    pub fn merge(&mut self, other: ApiPart) {
        self.paths.merge(other.paths);
        self.schemas.extend(other.schemas);
    }
}

/// A router under construction whose every route names its action and its description.
pub struct Secured<S = ()> {
    router: Router<S>,
    rules: Vec<Rule>,
    api: ApiPart,
}

impl<S> Default for Secured<S>
where
    S: Clone + Send + Sync + 'static,
{
    fn default() -> Self {
        Self {
            router: Router::new(),
            rules: Vec::new(),
            api: ApiPart::default(),
        }
    }
}

impl<S> Secured<S>
where
    S: Clone + Send + Sync + 'static,
{
    /// An empty router.
    pub fn new() -> Self {
        Self::default()
    }

    /// A `GET` route (HEAD too) taking `action`, described by `operation`.
    pub fn get<H, T>(
        self,
        path: &'static str,
        action: Action,
        handler: H,
        operation: Operation,
    ) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        let route = on(MethodFilter::GET, handler);
        self.add(
            (Method::GET, HttpMethod::Get),
            path,
            action,
            route,
            operation,
        )
    }

    /// A `POST` route taking `action`, described by `operation`.
    pub fn post<H, T>(
        self,
        path: &'static str,
        action: Action,
        handler: H,
        operation: Operation,
    ) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        let route = on(MethodFilter::POST, handler);
        self.add(
            (Method::POST, HttpMethod::Post),
            path,
            action,
            route,
            operation,
        )
    }

    /// A `POST` route taking `action` whose body may be up to `limit` bytes (uploads).
    pub fn post_upload<H, T>(
        self,
        path: &'static str,
        action: Action,
        limit: usize,
        handler: H,
        operation: Operation,
    ) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        let route = on(MethodFilter::POST, handler).layer(DefaultBodyLimit::max(limit));
        self.add(
            (Method::POST, HttpMethod::Post),
            path,
            action,
            route,
            operation,
        )
    }

    /// Adds one entry: its rule, its operation (under `method` as HTTP and as OpenAPI name it)
    /// and its route behind the gate.
    fn add(
        mut self,
        (method, http_method): (Method, HttpMethod),
        path: &'static str,
        action: Action,
        route: MethodRouter<S>,
        operation: Operation,
    ) -> Self {
        let (operation, schemas) = describe(path, action, operation).into_parts();
        self.api
            .paths
            .add_path_operation(path, vec![http_method], operation);
        self.api.schemas.extend(schemas);
        self.rules.push(Rule {
            method,
            path,
            action,
        });
        let guarded = route.layer(from_fn(move |request: Request, next: Next| {
            check(action, request, next)
        }));
        self.router = self.router.route(path, guarded);
        self
    }

    /// The rules of every route so far.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The table's part of the OpenAPI document.
    pub fn api(&self) -> ApiPart {
        self.api.clone()
    }

    /// The router.
    pub fn into_router(self) -> Router<S> {
        self.router
    }
}

/// The operation with what its path and action imply (see the module's documentation).
fn describe(path: &str, action: Action, operation: Operation) -> Operation {
    let mut operation = operation.declare_path_parameters(path);
    if operation.reads_input() {
        operation = operation
            .problem_unless_stated(400, "a field breaks a rule: `errors` names it and the rule");
    }
    if path_parameters(path).next().is_some() {
        operation = operation.problem_unless_stated(404, "no such resource");
    }
    if action.is_rate_limited() {
        operation = operation
            .problem_unless_stated(429, "too many requests from this client; see Retry-After");
    }
    if action.is_public() {
        return operation.security(Vec::new());
    }
    operation
        .security(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())])
        .problem_unless_stated(401, "no valid bearer token")
        .problem_unless_stated(403, "the token's role or region does not cover this")
}

/// Puts every route of a router built without [`Secured`] behind the gate with one action: a
/// stopgap for a service that has not declared its routes' rules yet (its handlers do no
/// region checks, so pick an action no scoped role may take).
pub fn guard_all<S>(router: Router<S>, action: Action) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router.route_layer(from_fn(move |request: Request, next: Next| {
        check(action, request, next)
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    async fn nothing() {}

    fn operations() -> Value {
        let table: Secured<()> = Secured::new()
            .get(
                "/open/{number}",
                Action::PublicVerify,
                nothing,
                Operation::new("Public."),
            )
            .post(
                "/v1/things/{thing_id}",
                Action::ReadHistory,
                nothing,
                Operation::command("Guarded."),
            );
        serde_json::to_value(table.api().paths).unwrap()
    }

    #[test]
    fn a_public_route_needs_no_token_and_a_rate_limited_one_may_answer_429() {
        let public = &operations()["/open/{number}"]["get"];
        assert_eq!(public["security"], json!([]));
        assert!(public["responses"]["429"].is_object());
        assert!(public["responses"]["401"].is_null());
        assert_eq!(public["parameters"][0]["name"], json!("number"));
        assert!(public["responses"]["404"].is_object());
    }

    #[test]
    fn a_guarded_route_names_the_bearer_scheme_and_may_answer_401_and_403() {
        let guarded = &operations()["/v1/things/{thing_id}"]["post"];
        assert_eq!(guarded["security"], json!([{ "bearer": [] }]));
        for status in ["400", "401", "403", "404", "503"] {
            assert!(guarded["responses"][status].is_object(), "{status}");
        }
    }

    #[test]
    fn the_table_lists_the_same_routes_as_rules_and_as_operations() {
        let table: Secured<()> = Secured::new()
            .get("/a", Action::Probe, nothing, Operation::new("A."))
            .post(
                "/a",
                Action::ReadHistory,
                nothing,
                Operation::new("A again."),
            );
        let rules: Vec<(String, &str)> = table
            .rules()
            .iter()
            .map(|r| (r.method.to_string(), r.path))
            .collect();
        assert_eq!(rules, [("GET".to_owned(), "/a"), ("POST".to_owned(), "/a")]);
        let paths = serde_json::to_value(table.api().paths).unwrap();
        assert!(paths["/a"]["get"].is_object() && paths["/a"]["post"].is_object());
    }
}
