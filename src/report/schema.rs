//! The documents that `--json` prints, and their JSON Schemas.
//!
//! Every document carries `schema_version` ([`SCHEMA_VERSION`]) as its first field,
//! beside the fields of the result it reports. The schemas in `docs/schema/` are
//! generated from these types (`deploysim schema run|compare|batch|sweep`), and the tests
//! check that the shipped files are what the types generate and that real outputs of
//! every shipped scenario validate against them.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Serialize;

use crate::batch::StrategyStats;
use crate::continuous::ContinuousReport;
use crate::metrics::Summary;

/// The shape of the `--json` documents. It goes up by one when a field is removed or
/// renamed or changes its type or meaning; a new field may appear without a change.
pub const SCHEMA_VERSION: u32 = 2;

/// A result with the version of its shape in front.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "{T}Document")]
pub struct Versioned<T> {
    /// The shape of this document (`SCHEMA_VERSION`).
    #[schemars(schema_with = "schema_version")]
    pub schema_version: u32,
    #[serde(flatten)]
    pub body: T,
}

fn schema_version(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "The shape of this document; it goes up by one when a field is removed or renamed or changes its type or meaning.",
        "type": "integer",
        "const": SCHEMA_VERSION,
    })
}

impl<T: Serialize> Versioned<T> {
    pub fn new(body: T) -> Self {
        Versioned { schema_version: SCHEMA_VERSION, body }
    }

    /// One line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

/// What `run --json` prints for a rollout of one service or of a graph of services: the
/// run's summary in the vocabulary every run shares (the same keys whatever the
/// scenario), and beside it the engine's own report where it has one.
#[derive(Serialize, JsonSchema)]
pub struct RunOutput {
    #[serde(flatten)]
    pub summary: Summary,
    /// `null` for a single service; `{"topology": ...}` for a multi-service scenario (its
    /// calls, schema, database and log); `{"serverless": ...}` for a function.
    pub detail: Option<crate::RunDetail>,
}

/// What `run --json` prints, by the kind of scenario.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code, clippy::large_enum_variant)] // Describes the output for the schema (never built); the CLI prints `Versioned<_>` directly.
pub enum RunDocument {
    /// A rollout of one service, of a graph of services (a `topology` section) or of a
    /// function (a `serverless` section), measured against its baseline.
    Rollout(Versioned<RunOutput>),
    /// A scenario with a `continuous` section (a stream of releases).
    Continuous(Versioned<ContinuousReport>),
}

/// What `compare --json` prints.
#[derive(Serialize, JsonSchema)]
pub struct CompareRuns {
    /// One `run --json` summary per strategy, in the order compared; `strategy` is the
    /// variant's name.
    pub runs: Vec<Summary>,
}

/// What `batch --json`, `sweep --json` and `merge --json` print.
#[derive(Serialize, JsonSchema)]
pub struct BatchReport {
    /// `batch` or `sweep`.
    pub command: String,
    /// The scenario's name.
    pub scenario: String,
    /// Seeds per strategy and point.
    pub seeds: u64,
    /// One entry per sweep point (a batch has one point with no parameters).
    pub points: Vec<BatchPoint>,
}

/// The statistics at one sweep point.
#[derive(Serialize, JsonSchema)]
pub struct BatchPoint {
    /// The point's parameters as `PATH=VALUE`.
    pub params: Vec<String>,
    pub strategies: Vec<StrategyStats>,
}

/// The outputs that have a schema, by the name of their command and file.
pub const SCHEMAS: [&str; 4] = ["run", "compare", "batch", "sweep"];

/// The JSON Schema of a command's `--json` output (`None` for a name not in [`SCHEMAS`]).
pub fn schema(name: &str) -> Option<Schema> {
    let (mut s, title, description) = match name {
        "run" => (
            schemars::schema_for!(RunDocument),
            "deploysim run --json",
            "What `run --json` prints, by the kind of scenario.",
        ),
        "compare" => (
            schemars::schema_for!(Versioned<CompareRuns>),
            "deploysim compare --json",
            "The strategies compared on one seed, each measured against the shared baseline.",
        ),
        "batch" => (
            schemars::schema_for!(Versioned<BatchReport>),
            "deploysim batch --json",
            "Statistics over seeds per strategy (also `merge --json` of a batch's shards).",
        ),
        "sweep" => (
            schemars::schema_for!(Versioned<BatchReport>),
            "deploysim sweep --json",
            "Statistics over seeds per strategy at every point of a grid (also `merge --json` of a sweep's shards).",
        ),
        _ => return None,
    };
    s.insert("title".into(), title.into());
    s.insert("description".into(), description.into());
    if name == "batch" || name == "sweep" {
        let command = s.get_mut("properties").and_then(|p| p.get_mut("command"))?;
        *command = serde_json::json!({ "description": "The command that ran.", "const": name });
    }
    Some(s)
}

/// [`schema`] as the text shipped in `docs/schema/NAME.json`.
pub fn schema_text(name: &str) -> Option<String> {
    let s = schema(name)?;
    serde_json::to_string_pretty(&s).ok().map(|t| t + "\n")
}
