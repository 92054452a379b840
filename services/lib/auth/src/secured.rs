//! Routes that cannot exist without an access rule: a [`Secured`] router is built from
//! `(method, path, action, handler)` entries, each wrapped in the gate's check for its action,
//! and it keeps the list of its [`Rule`]s so tests can walk every route.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::{Next, from_fn};
use axum::routing::{MethodFilter, MethodRouter, on};

use crate::gate::check;
use crate::policy::Action;

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

/// A router under construction whose every route names its action.
pub struct Secured<S = ()> {
    router: Router<S>,
    rules: Vec<Rule>,
}

impl<S> Default for Secured<S>
where
    S: Clone + Send + Sync + 'static,
{
    fn default() -> Self {
        Self {
            router: Router::new(),
            rules: Vec::new(),
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

    /// A `GET` route (HEAD too) taking `action`.
    pub fn get<H, T>(self, path: &'static str, action: Action, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.add(Method::GET, path, action, on(MethodFilter::GET, handler))
    }

    /// A `POST` route taking `action`.
    pub fn post<H, T>(self, path: &'static str, action: Action, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.add(Method::POST, path, action, on(MethodFilter::POST, handler))
    }

    /// A `POST` route taking `action` whose body may be up to `limit` bytes (uploads).
    pub fn post_upload<H, T>(
        self,
        path: &'static str,
        action: Action,
        limit: usize,
        handler: H,
    ) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        let route = on(MethodFilter::POST, handler).layer(DefaultBodyLimit::max(limit));
        self.add(Method::POST, path, action, route)
    }

    fn add(
        mut self,
        method: Method,
        path: &'static str,
        action: Action,
        route: MethodRouter<S>,
    ) -> Self {
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

    /// The router.
    pub fn into_router(self) -> Router<S> {
        self.router
    }
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
