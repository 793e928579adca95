//! The parts of a Spin v2 manifest (`spin.toml`) the host understands.

use std::{collections::BTreeMap, path::Path};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// A parsed manifest. Some fields are read only to validate the file.
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    /// Must be 2.
    pub spin_manifest_version: u32,
    /// Application metadata.
    pub application: Application,
    /// Application variables by name.
    #[serde(default)]
    pub variables: BTreeMap<String, VariableDecl>,
    /// Triggers by type.
    #[serde(default)]
    pub trigger: Triggers,
    /// Components by id.
    #[serde(default)]
    pub component: BTreeMap<String, ComponentDecl>,
}

/// `[application]`.
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
pub struct Application {
    /// App name.
    pub name: String,
}

/// An application variable.
#[allow(dead_code)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableDecl {
    /// Default value.
    pub default: Option<String>,
    /// Must be set when there is no default.
    #[serde(default)]
    pub required: bool,
    /// Never logged.
    #[serde(default)]
    pub secret: bool,
    /// Free text.
    pub description: Option<String>,
}

/// `[[trigger.*]]` tables.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Triggers {
    /// HTTP triggers.
    #[serde(default)]
    pub http: Vec<HttpTrigger>,
    /// Cron triggers (spin-trigger-cron).
    #[serde(default)]
    pub cron: Vec<CronTrigger>,
}

/// `[[trigger.http]]`.
#[derive(Debug, Clone, Deserialize)]
pub struct HttpTrigger {
    /// Route pattern, or `{ private = true }`.
    pub route: RouteDecl,
    /// Component id.
    pub component: String,
}

/// A trigger's route.
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RouteDecl {
    /// A path pattern.
    Path(String),
    /// `{ private = true }`: reachable only through self-requests.
    Private {
        /// Must be true.
        private: bool,
    },
}

/// `[[trigger.cron]]`.
#[derive(Debug, Clone, Deserialize)]
pub struct CronTrigger {
    /// Component id.
    pub component: String,
    /// Six-field cron expression (seconds first).
    pub cron_expression: String,
}

/// `[component.<id>]`.
#[derive(Debug, Clone, Deserialize)]
pub struct ComponentDecl {
    /// Path of the `.wasm`, relative to the manifest.
    pub source: String,
    /// Outbound destinations (templates allowed).
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    /// Key-value store labels the component may open.
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    /// SQLite database labels the component may open.
    #[serde(default)]
    pub sqlite_databases: Vec<String>,
    /// Component variables (templates over application variables).
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
}

impl Manifest {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let manifest: Manifest =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        if manifest.spin_manifest_version != 2 {
            bail!("only spin_manifest_version = 2 is supported");
        }
        for t in &manifest.trigger.http {
            if !manifest.component.contains_key(&t.component) {
                bail!("HTTP trigger refers to unknown component {:?}", t.component);
            }
            if let RouteDecl::Path(p) = &t.route {
                if !p.starts_with('/') {
                    bail!("route {p:?} must start with /");
                }
            }
        }
        for t in &manifest.trigger.cron {
            if !manifest.component.contains_key(&t.component) {
                bail!("cron trigger refers to unknown component {:?}", t.component);
            }
        }
        for (name, decl) in &manifest.variables {
            crate::variables::check_name(name)?;
            if decl.required && decl.default.is_some() {
                bail!("variable {name:?} cannot be both required and have a default");
            }
        }
        Ok(manifest)
    }
}
