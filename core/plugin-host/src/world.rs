//! Which world and interface version a component implements, read from the
//! names of its exports and imports before any of its code runs.

use aegis_core::plugins::{PluginFault, PluginKind, Rejection};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The interface versions this host keeps a binding for.
pub const SUPPORTED_VERSIONS: &[&str] = &["0.1.0"];

const PACKAGE: &str = "aegis:plugin/";

/// The kind and version a component exports, after checking it imports
/// nothing but the Aegis interfaces of that same version.
pub fn identify(
    engine: &Engine,
    component: &Component,
    declared: Option<PluginKind>,
) -> Result<(PluginKind, String), PluginFault> {
    let ty = component.component_type();
    let mut found = None;
    for (name, _) in ty.exports(engine) {
        let Some((interface, version)) = split(name) else {
            continue;
        };
        let kind = match interface {
            "alert-rule" => PluginKind::AlertRule,
            "report-format" => PluginKind::ReportFormat,
            _ => continue,
        };
        if !SUPPORTED_VERSIONS.contains(&version) {
            return Err(reject(Rejection::UnsupportedVersion(format!(
                "aegis:plugin@{version} (supported: {})",
                SUPPORTED_VERSIONS.join(", ")
            ))));
        }
        found = Some((kind, version.to_owned()));
        break;
    }
    let Some((kind, version)) = found else {
        return Err(reject(Rejection::WrongWorld {
            declared: declared.map_or("an Aegis plugin", PluginKind::as_str),
            found: "no Aegis world (it exports neither alert-rule nor report-format)".into(),
        }));
    };
    if let Some(declared) = declared
        && declared != kind
    {
        return Err(reject(Rejection::WrongWorld {
            declared: declared.as_str(),
            found: kind.as_str().into(),
        }));
    }
    for (name, _) in ty.imports(engine) {
        let allowed = split(name).is_some_and(|(interface, imported)| {
            matches!(interface, "host" | "types") && imported == version
        });
        if !allowed {
            return Err(reject(Rejection::ForbiddenImport(name.to_owned())));
        }
    }
    Ok((kind, version))
}

/// `aegis:plugin/alert-rule@0.1.0` → (`alert-rule`, `0.1.0`).
fn split(name: &str) -> Option<(&str, &str)> {
    name.strip_prefix(PACKAGE)?.split_once('@')
}

fn reject(rejection: Rejection) -> PluginFault {
    PluginFault::Rejected(rejection)
}
