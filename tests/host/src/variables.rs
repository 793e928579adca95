//! Application variables and `{{ name }}` templates, as Spin resolves them:
//! an explicit value (tests), then `SPIN_VARIABLE_<NAME>` from the
//! environment, then the manifest default; a required variable without a
//! value stops start-up.

use std::collections::{BTreeMap, HashMap};

use anyhow::{bail, Result};

use crate::manifest::VariableDecl;

/// Checks Spin's variable-name rule: lower-case ASCII letters, digits and
/// underscores, starting with a letter.
pub fn check_name(name: &str) -> Result<()> {
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        bail!("invalid variable name {name:?}: use lower-case letters, digits and underscores");
    }
    Ok(())
}

/// Resolves every application variable.
pub fn resolve(
    decls: &BTreeMap<String, VariableDecl>,
    explicit: &HashMap<String, String>,
    env: &HashMap<String, String>,
) -> Result<HashMap<String, String>> {
    let mut values = HashMap::new();
    let mut missing = Vec::new();
    for (name, decl) in decls {
        let env_name = format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase());
        let value = explicit
            .get(name)
            .or_else(|| env.get(&env_name))
            .cloned()
            .or_else(|| decl.default.clone());
        match value {
            Some(v) => {
                values.insert(name.clone(), v);
            }
            None if decl.required => missing.push(format!("{name} (set {env_name})")),
            None => {}
        }
    }
    if !missing.is_empty() {
        bail!("required variables have no value: {}", missing.join(", "));
    }
    for name in explicit.keys() {
        if !decls.contains_key(name) {
            bail!("variable {name:?} is not declared in the manifest");
        }
    }
    Ok(values)
}

/// Expands `{{ name }}` references in `template` from `values`.
pub fn expand(template: &str, values: &HashMap<String, String>) -> Result<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            bail!("unterminated template in {template:?}");
        };
        let name = after[..end].trim();
        check_name(name)?;
        match values.get(name) {
            Some(v) => out.push_str(v),
            None => bail!("template {template:?} refers to {name:?}, which has no value"),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(default: Option<&str>, required: bool) -> VariableDecl {
        VariableDecl {
            default: default.map(str::to_string),
            required,
            ..Default::default()
        }
    }

    #[test]
    fn precedence_is_explicit_env_default() {
        let decls = BTreeMap::from([
            ("a".to_string(), decl(Some("da"), false)),
            ("b".to_string(), decl(Some("db"), false)),
            ("c".to_string(), decl(Some("dc"), false)),
        ]);
        let explicit = HashMap::from([("a".to_string(), "xa".to_string())]);
        let env = HashMap::from([
            ("SPIN_VARIABLE_A".to_string(), "ea".to_string()),
            ("SPIN_VARIABLE_B".to_string(), "eb".to_string()),
        ]);
        let v = resolve(&decls, &explicit, &env).unwrap();
        assert_eq!(
            (v["a"].as_str(), v["b"].as_str(), v["c"].as_str()),
            ("xa", "eb", "dc")
        );
    }

    #[test]
    fn missing_required_is_named() {
        let decls = BTreeMap::from([("jwt_secret".to_string(), decl(None, true))]);
        let err = resolve(&decls, &HashMap::new(), &HashMap::new())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("jwt_secret") && err.contains("SPIN_VARIABLE_JWT_SECRET"),
            "{err}"
        );
    }

    #[test]
    fn templates_expand() {
        let values = HashMap::from([("host".to_string(), "127.0.0.1:9".to_string())]);
        assert_eq!(
            expand("http://{{ host }}/x", &values).unwrap(),
            "http://127.0.0.1:9/x"
        );
        assert_eq!(expand("plain", &values).unwrap(), "plain");
        assert!(expand("{{ nope }}", &values).is_err());
        assert!(expand("{{ host", &values).is_err());
    }

    #[test]
    fn names_follow_spin_rules() {
        assert!(check_name("jwt_secret").is_ok());
        assert!(check_name("JWT").is_err());
        assert!(check_name("1a").is_err());
        assert!(check_name("a-b").is_err());
    }
}
