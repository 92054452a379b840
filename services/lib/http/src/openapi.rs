//! What one route says about itself in the OpenAPI 3.1 document: an [`Operation`] is written
//! beside the route's entry in its service's table, so the document is built from the same
//! entries as the router and cannot describe a route that does not exist, nor miss one.
//!
//! Bodies and query strings are described from the types the handlers read
//! ([`utoipa::ToSchema`], [`utoipa::IntoParams`]), so a field added to a form shows up in the
//! document. Two rules every route shares are applied here rather than in each description:
//! a body never accepts `null` ([`crate::body::parse`] refuses it), and `limit` and `after`
//! follow the one paging rule ([`crate::paging::parameter_schema`]).

use serde_json::{Map, Value, json};
use utoipa::openapi::path::{Operation as Op, Parameter, ParameterIn};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::{Content, Ref, RefOr, Required, Response, Schema};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::paging;

/// Where the problem+json schema sits among the document's components.
pub const PROBLEM_SCHEMA: &str = "Problem";

/// The description of one route's operation, and the named schemas it refers to.
#[derive(Clone, Default)]
pub struct Operation {
    operation: Op,
    schemas: Map<String, Value>,
}

impl Operation {
    /// An operation with a summary and no responses yet.
    pub fn new(summary: &str) -> Self {
        let mut operation = Op::new();
        operation.summary = Some(summary.to_owned());
        Self {
            operation,
            schemas: Map::new(),
        }
    }

    /// A command: it takes an `Idempotency-Key`, and answers 503 while the store is away (a
    /// retry with the same key is safe).
    pub fn command(summary: &str) -> Self {
        let mut key = Parameter::new("Idempotency-Key");
        key.parameter_in = ParameterIn::Header;
        key.required = Required::False;
        key.description = Some(
            "Repeat the key to retry a command without a second effect (a UUID, or 1-200 \
             printable characters)."
                .to_owned(),
        );
        key.schema = Some(string());
        Self::new(summary).parameter(key).problem(
            503,
            "the store is unavailable; retry with the same Idempotency-Key",
        )
    }

    /// A JSON body read as `T` (required), named among the components.
    pub fn body<T: ToSchema>(mut self) -> Self {
        let name = self.component::<T>();
        self.operation.request_body = Some(json_body(Content::new(Some(reference(&name)))));
        self
    }

    /// A JSON body (required) whose schema is written as JSON Schema and named among the
    /// components, for a body no derived schema describes well.
    pub fn body_schema(mut self, name: &str, schema: Value) -> Self {
        self.schemas.insert(name.to_owned(), schema);
        self.operation.request_body = Some(json_body(Content::new(Some(reference(name)))));
        self
    }

    /// A body of one of `media_types`, sent as it is (an uploaded file).
    pub fn upload(mut self, media_types: &[&str]) -> Self {
        let mut body = RequestBody::new();
        body.required = Some(Required::True);
        for media_type in media_types {
            body.content
                .insert((*media_type).to_owned(), Content::new(None::<Schema>));
        }
        self.operation.request_body = Some(body);
        self
    }

    /// The query parameters `T` reads (derive `IntoParams` with `#[into_params(parameter_in =
    /// Query)]`, so that an optional one is left out rather than `null`); `limit` and `after`
    /// as the paging rule has them.
    pub fn query<T: IntoParams>(mut self) -> Self {
        for mut parameter in T::into_params(|| Some(ParameterIn::Query)) {
            if let Some(schema) = paging::parameter_schema(&parameter.name) {
                parameter.schema = Some(RefOr::T(schema));
            }
            self = self.parameter(parameter);
        }
        self
    }

    /// One optional query parameter, a string.
    pub fn query_text(self, name: &str, description: &str) -> Self {
        self.query_schema(name, description, string())
    }

    /// One optional query parameter, a string from `values`.
    pub fn query_one_of(self, name: &str, description: &str, values: &[&str]) -> Self {
        let schema = RefOr::T(Schema::Object(one_of(values)));
        self.query_schema(name, description, schema)
    }

    fn query_schema(self, name: &str, description: &str, schema: RefOr<Schema>) -> Self {
        let mut parameter = Parameter::new(name);
        parameter.parameter_in = ParameterIn::Query;
        parameter.required = Required::False;
        parameter.description = Some(description.to_owned());
        parameter.schema = Some(schema);
        self.parameter(parameter)
    }

    /// A path parameter that is text (not an id), with what it holds.
    pub fn path_text(self, name: &str, description: &str) -> Self {
        let mut parameter = Parameter::new(name);
        parameter.parameter_in = ParameterIn::Path;
        parameter.required = Required::True;
        parameter.description = Some(description.to_owned());
        parameter.schema = Some(string());
        self.parameter(parameter)
    }

    /// A parameter as utoipa describes it.
    pub fn parameter(mut self, parameter: Parameter) -> Self {
        self.operation
            .parameters
            .get_or_insert_with(Vec::new)
            .push(parameter);
        self
    }

    /// A successful or plain answer with `status`, its body described in words only.
    pub fn answers(mut self, status: u16, description: &str) -> Self {
        self.operation
            .responses
            .responses
            .insert(status.to_string(), RefOr::T(Response::new(description)));
        self
    }

    /// A JSON answer with `status` whose body is the component schema `name` (declared with
    /// [`Operation::schema`] here or by another operation).
    pub fn answers_json(mut self, status: u16, description: &str, name: &str) -> Self {
        let mut response = Response::new(description);
        response.content.insert(
            "application/json".to_owned(),
            Content::new(Some(reference(name))),
        );
        self.operation
            .responses
            .responses
            .insert(status.to_string(), RefOr::T(response));
        self
    }

    /// A file answer with `status` in one of `media_types` (a download: CSV, XLSX, …), its
    /// body binary.
    pub fn answers_file(mut self, status: u16, description: &str, media_types: &[&str]) -> Self {
        let mut response = Response::new(description);
        for media_type in media_types {
            let binary = utoipa::openapi::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::String)
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                    utoipa::openapi::KnownFormat::Binary,
                )))
                .build();
            response.content.insert(
                (*media_type).to_owned(),
                Content::new(Some(RefOr::T(Schema::Object(binary)))),
            );
        }
        self.operation
            .responses
            .responses
            .insert(status.to_string(), RefOr::T(response));
        self
    }

    /// A JSON answer with `status` whose body is one of the component schemas `names`.
    pub fn answers_one_of(mut self, status: u16, description: &str, names: &[&str]) -> Self {
        let mut one_of = utoipa::openapi::OneOf::new();
        one_of.items = names.iter().map(|name| reference(name)).collect();
        let mut response = Response::new(description);
        response.content.insert(
            "application/json".to_owned(),
            Content::new(Some(RefOr::T(Schema::OneOf(one_of)))),
        );
        self.operation
            .responses
            .responses
            .insert(status.to_string(), RefOr::T(response));
        self
    }

    /// A problem+json answer with `status`.
    pub fn problem(mut self, status: u16, description: &str) -> Self {
        self.operation
            .responses
            .responses
            .insert(status.to_string(), RefOr::T(problem(description)));
        self
    }

    /// A problem+json answer with `status` unless the description names one already (the
    /// answers every route of a kind shares, added under what the route says itself).
    pub fn problem_unless_stated(self, status: u16, description: &str) -> Self {
        if self.states(status) {
            self
        } else {
            self.problem(status, description)
        }
    }

    /// A named component schema written as JSON Schema, for an answer no Rust type describes
    /// (the handler builds it as JSON).
    pub fn schema(mut self, name: &str, schema: Value) -> Self {
        self.schemas.insert(name.to_owned(), schema);
        self
    }

    /// Whether an answer with `status` is described.
    pub fn states(&self, status: u16) -> bool {
        self.operation
            .responses
            .responses
            .contains_key(&status.to_string())
    }

    /// Whether the operation reads input a caller can get wrong: a body, or a parameter that
    /// is not a header.
    pub fn reads_input(&self) -> bool {
        self.operation.request_body.is_some()
            || self
                .operation
                .parameters
                .iter()
                .flatten()
                .any(|p| !matches!(p.parameter_in, ParameterIn::Header))
    }

    /// Declares each `{name}` of `path` the operation does not declare yet: a string, a UUID
    /// for names ending in `_id`.
    pub fn declare_path_parameters(mut self, path: &str) -> Self {
        for name in path_parameters(path) {
            let declared = self
                .operation
                .parameters
                .iter()
                .flatten()
                .any(|p| p.name == name && matches!(p.parameter_in, ParameterIn::Path));
            if !declared {
                let mut parameter = Parameter::new(name);
                parameter.parameter_in = ParameterIn::Path;
                parameter.required = Required::True;
                parameter.schema = Some(if name.ends_with("_id") {
                    uuid()
                } else {
                    string()
                });
                self = self.parameter(parameter);
            }
        }
        self
    }

    /// Sets the operation's security requirements (`Some(vec![])`: none, a public route).
    pub fn security(
        mut self,
        security: Vec<utoipa::openapi::security::SecurityRequirement>,
    ) -> Self {
        self.operation.security = Some(security);
        self
    }

    /// The operation and the component schemas it refers to, as JSON.
    pub fn into_parts(self) -> (Op, Map<String, Value>) {
        (self.operation, self.schemas)
    }

    /// Names `T` (and the types inside it) among the components, without `null`.
    fn component<T: ToSchema>(&mut self) -> String {
        let name = T::name().into_owned();
        let mut nested = Vec::new();
        T::schemas(&mut nested);
        nested.push((name.clone(), T::schema()));
        for (nested_name, schema) in nested {
            if let Ok(mut value) = serde_json::to_value(schema) {
                refuse_null(&mut value);
                self.schemas.insert(nested_name, value);
            }
        }
        name
    }
}

/// The problem+json schema, derived from [`crate::Problem`], with the schemas inside it
/// ([`crate::FieldError`]): the components every operation's error answers refer to.
pub fn problem_schemas() -> Map<String, Value> {
    let mut nested = Vec::new();
    crate::Problem::schemas(&mut nested);
    nested.push((PROBLEM_SCHEMA.to_owned(), crate::Problem::schema()));
    nested
        .into_iter()
        .filter_map(|(name, schema)| Some((name, serde_json::to_value(schema).ok()?)))
        .collect()
}

/// A string that is one of `values`: the schema of a form field the handler checks against a
/// list itself (so that a wrong value is a 400 naming the field, not a JSON error), for
/// `#[schema(schema_with = ...)]`.
pub fn one_of(values: &[&str]) -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(values.iter().copied()))
        .build()
}

/// The `{name}`s of a path, in order.
pub fn path_parameters(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
}

/// A problem+json answer.
fn problem(description: &str) -> Response {
    let mut response = Response::new(description);
    response.content.insert(
        "application/problem+json".to_owned(),
        Content::new(Some(reference(PROBLEM_SCHEMA))),
    );
    response
}

fn json_body(content: Content) -> RequestBody {
    let mut body = RequestBody::new();
    body.required = Some(Required::True);
    body.content.insert("application/json".to_owned(), content);
    body
}

fn reference(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

fn string() -> RefOr<Schema> {
    RefOr::T(Schema::Object(
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .build(),
    ))
}

fn uuid() -> RefOr<Schema> {
    RefOr::T(Schema::Object(
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::Custom(
                "uuid".to_owned(),
            )))
            .build(),
    ))
}

/// Removes `null` from a body schema: an optional field is left out, never sent as `null`
/// ([`crate::body::parse`] answers 400 `json.null`), so `type: [T, "null"]` becomes `T` and
/// `oneOf: [{type: null}, X]` becomes `X`.
fn refuse_null(schema: &mut Value) {
    match schema {
        Value::Object(object) => {
            if let Some(Value::Array(types)) = object.get_mut("type") {
                types.retain(|t| t != "null");
                if let [only] = types.as_slice() {
                    let only = only.clone();
                    object.insert("type".to_owned(), only);
                }
            }
            if let Some(Value::Array(variants)) = object.get_mut("oneOf") {
                variants.retain(|v| v != &json!({ "type": "null" }));
                if let [only] = variants.as_slice() {
                    let only = only.clone();
                    object.remove("oneOf");
                    if let Value::Object(inner) = only {
                        object.extend(inner);
                    }
                }
            }
            object.values_mut().for_each(refuse_null);
        }
        Value::Array(items) => items.iter_mut().for_each(refuse_null),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        name: String,
    }

    #[derive(Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Form {
        reason: String,
        note: Option<String>,
        inner: Option<Inner>,
    }

    #[derive(Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    #[allow(dead_code)]
    struct List {
        region: Option<String>,
        after: Option<String>,
        limit: Option<u32>,
    }

    fn json(operation: Operation) -> (Value, Map<String, Value>) {
        let (operation, schemas) = operation.into_parts();
        (serde_json::to_value(operation).unwrap(), schemas)
    }

    #[test]
    fn a_body_form_is_a_component_without_null_and_without_unknown_fields() {
        let (operation, schemas) = json(Operation::command("Do it.").body::<Form>());
        assert_eq!(
            operation["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            json!("#/components/schemas/Form")
        );
        let form = &schemas["Form"];
        assert_eq!(form["additionalProperties"], json!(false));
        assert_eq!(form["required"], json!(["reason"]));
        assert_eq!(form["properties"]["note"]["type"], json!("string"));
        assert_eq!(
            form["properties"]["inner"]["$ref"],
            json!("#/components/schemas/Inner")
        );
        assert!(schemas.contains_key("Inner"));
    }

    #[test]
    fn a_command_takes_an_idempotency_key_and_may_answer_503() {
        let (operation, _) = json(Operation::command("Do it."));
        assert_eq!(operation["parameters"][0]["name"], json!("Idempotency-Key"));
        assert_eq!(operation["parameters"][0]["in"], json!("header"));
        assert!(operation["responses"]["503"].is_object());
    }

    #[test]
    fn list_parameters_follow_the_paging_rule() {
        let (operation, _) = json(Operation::new("List.").query::<List>());
        let parameters = operation["parameters"].as_array().unwrap();
        let region = parameters.iter().find(|p| p["name"] == "region").unwrap();
        assert_eq!(region["schema"]["type"], json!("string"));
        let limit = parameters.iter().find(|p| p["name"] == "limit").unwrap();
        assert_eq!(limit["schema"]["maximum"], json!(paging::MAX_LIMIT));
        let after = parameters.iter().find(|p| p["name"] == "after").unwrap();
        assert_eq!(after["schema"]["format"], json!("uuid"));
        assert!(Operation::new("List.").query::<List>().reads_input());
    }

    #[test]
    fn the_problem_schema_names_the_fields_every_problem_has() {
        let schemas = problem_schemas();
        let problem = &schemas[PROBLEM_SCHEMA];
        assert_eq!(
            problem["required"],
            json!(["type", "title", "status", "detail"])
        );
        assert_eq!(problem["properties"]["type"]["format"], json!("uri"));
        assert!(schemas.contains_key("FieldError"));
    }

    #[test]
    fn path_parameters_are_declared_once_and_ids_are_uuids() {
        let operation = Operation::new("One.")
            .declare_path_parameters("/v1/things/{thing_id}/{name}")
            .declare_path_parameters("/v1/things/{thing_id}/{name}");
        let (operation, _) = json(operation);
        let parameters = operation["parameters"].as_array().unwrap();
        assert_eq!(parameters.len(), 2);
        assert_eq!(parameters[0]["schema"]["format"], json!("uuid"));
        assert_eq!(parameters[1]["schema"]["type"], json!("string"));
        assert_eq!(parameters[1]["required"], json!(true));
    }
}
