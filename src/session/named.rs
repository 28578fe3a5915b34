//! The CLI's option names applied to [`SessionOptions`] one by one: what a C host sets with
//! `ptrace_session_set_option(s, "depth", "3")`, with the meaning `--depth 3` has for `ptrace`.

use super::SessionOptions;
use crate::snapshot::AttributeValue;
use std::path::PathBuf;
use std::time::Duration;

/// The option names [`set_named_option`] knows (the CLI's long options that concern a session).
pub const OPTION_NAMES: &[&str] = &[
    "application",
    "thread",
    "fault-thread",
    "kv",
    "classifier",
    "max-frames",
    "depth",
    "global",
    "no-variables",
    "all-registers",
    "module-path",
    "module-load",
    "module",
    "sandbox-whitelist",
    "lua-instruction-budget",
    "lua-memory-limit",
    "allow-insecure-modules",
    "hold-stopped-ms",
    "max-stop-ms",
    "no-debuginfod",
    "debuginfod-timeout",
    "sentry-dsn",
    "sentry-level",
    "backtrace-url",
    "submit-timeout",
    "release",
    "environment",
    "server-name",
];

fn number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("--{name} {value:?}: expected a number"))
}

fn flag(name: &str, value: &str) -> Result<bool, String> {
    match value.trim() {
        "" | "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        other => Err(format!("--{name} {other:?}: expected true or false")),
    }
}

/// Applies the CLI option `name` (with or without its leading `--`) with `value` to `options`,
/// as the CLI would: repeatable options (`kv`, `classifier`, `global`, `module-path`,
/// `module-load`, `module`, `sandbox-whitelist`) add to what is there; flags
/// (`no-variables`, `allow-insecure-modules`) take `true`/`false`/`1`/`0` (empty is true).
/// Returns why a name or value is refused.
pub fn set_named_option(options: &mut SessionOptions, name: &str, value: &str) -> Result<(), String> {
    let name = name.trim_start_matches("--");
    let modules = &mut options.modules;
    match name {
        "application" => options.application = Some(value.to_string()),
        "thread" => options.only_thread = Some(number(name, value)?),
        "fault-thread" => options.fault_thread = Some(number(name, value)?),
        "kv" => options.attributes.extend(parse_kv(&[value.to_string()])?),
        "classifier" => options.classifiers.push(value.to_string()),
        "max-frames" => options.max_frames = number(name, value)?,
        "depth" => options.depth = number(name, value)?,
        "global" => options.globals.push(value.to_string()),
        "no-variables" => options.variables = !flag(name, value)?,
        "all-registers" => options.all_registers = flag(name, value)?,
        "module-path" | "modules-path" => modules.paths.push(PathBuf::from(value)),
        "module-load" => modules.files.push(PathBuf::from(value)),
        "module" => modules.options.add_argument(value).map_err(|e| e.to_string())?,
        "sandbox-whitelist" => modules.lua.add_whitelist(value).map_err(|e| e.to_string())?,
        "lua-instruction-budget" => modules.lua.instruction_budget = number(name, value)?,
        "lua-memory-limit" => modules.lua.memory_limit = number(name, value)?,
        "allow-insecure-modules" => modules.native.allow_insecure_modules = flag(name, value)?,
        "hold-stopped-ms" => options.hold_stopped = Some(Duration::from_millis(number(name, value)?)),
        "max-stop-ms" => options.stop_limit = stop_limit(number(name, value)?),
        "no-debuginfod" => options.debuginfod.enabled = !flag(name, value)?,
        "debuginfod-timeout" => options.debuginfod.total_timeout = seconds(name, value)?,
        "sentry-dsn" => {
            options.backends.sentry =
                Some(crate::backends::sentry::Dsn::parse(value).map_err(|e| e.to_string())?)
        }
        "backtrace-url" => {
            options.backends.backtrace =
                Some(crate::backends::backtrace::SubmitUrl::parse(value).map_err(|e| e.to_string())?)
        }
        "sentry-level" => options.backends.details.level = Some(sentry_level(value)?),
        "submit-timeout" => options.backends.timeout = seconds(name, value)?,
        "release" => options.backends.details.release = Some(value.to_string()),
        "environment" => options.backends.details.environment = Some(value.to_string()),
        "server-name" => options.backends.details.server_name = Some(value.to_string()),
        _ => {
            return Err(format!(
                "unknown option {name:?}; known: {}",
                OPTION_NAMES.join(", ")
            ))
        }
    }
    if name.starts_with("lua-") {
        modules
            .lua
            .validate()
            .map_err(|e| format!("--{e}").replace('_', "-"))?;
    }
    Ok(())
}

/// A Sentry level (`--sentry-level`): one of Sentry's five.
pub fn sentry_level(value: &str) -> Result<String, String> {
    match value {
        "fatal" | "error" | "warning" | "info" | "debug" => Ok(value.to_string()),
        _ => Err(format!(
            "--sentry-level {value:?}: expected fatal, error, warning, info or debug"
        )),
    }
}

/// A duration in seconds (fractions allowed), as `--debuginfod-timeout` takes it.
pub fn seconds(name: &str, value: &str) -> Result<Duration, String> {
    number::<f64>(name, value).and_then(|s| {
        Duration::try_from_secs_f64(s).map_err(|_| format!("--{name} {value:?}: expected seconds, 0 or more"))
    })
}

/// The stop limit `--max-stop-ms MS` gives: none for 0.
pub fn stop_limit(ms: u64) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(ms))
}

/// `--kv key:value[,key:value...]` pairs; values that parse as integers stay integers.
pub fn parse_kv(args: &[String]) -> Result<Vec<(String, AttributeValue)>, String> {
    let mut pairs = Vec::new();
    for arg in args {
        for item in arg.split(',').filter(|s| !s.is_empty()) {
            let (key, value) = item
                .split_once(':')
                .ok_or_else(|| format!("--kv {item:?}: expected key:value"))?;
            if key.is_empty() {
                return Err(format!("--kv {item:?}: the key is empty"));
            }
            let value = value
                .parse::<i64>()
                .map(AttributeValue::Int)
                .unwrap_or_else(|_| AttributeValue::Text(value.to_string()));
            pairs.push((key.to_string(), value));
        }
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_pairs_keep_integers_as_numbers() {
        let pairs = parse_kv(&["a:1,b:two".to_string(), "c:x:y".to_string()]).unwrap();
        assert_eq!(pairs[0], ("a".to_string(), AttributeValue::Int(1)));
        assert_eq!(pairs[1], ("b".to_string(), AttributeValue::Text("two".into())));
        assert_eq!(pairs[2], ("c".to_string(), AttributeValue::Text("x:y".into())));
        assert!(parse_kv(&["novalue".to_string()]).is_err());
        assert!(parse_kv(&[":v".to_string()]).is_err());
    }

    #[test]
    fn cli_names_set_the_options_and_bad_ones_say_why() {
        let mut o = SessionOptions::default();
        for (name, value) in [
            ("depth", "3"),
            ("--kv", "k:7"),
            ("classifier", "c"),
            ("global", "g"),
            ("module-path", "/m"),
            ("module-load", "/m/x.so"),
            ("module", "x:a,b"),
            ("allow-insecure-modules", ""),
            ("no-variables", "true"),
            ("thread", "12"),
        ] {
            set_named_option(&mut o, name, value).unwrap();
        }
        assert_eq!(o.depth, 3);
        assert_eq!(o.attributes, vec![("k".to_string(), AttributeValue::Int(7))]);
        assert_eq!((o.classifiers.len(), o.globals.len()), (1, 1));
        assert_eq!(o.modules.paths, vec![PathBuf::from("/m")]);
        assert_eq!(o.modules.files, vec![PathBuf::from("/m/x.so")]);
        assert_eq!(o.modules.options.get("x", "a"), Some("b"));
        assert!(o.modules.native.allow_insecure_modules);
        assert!(!o.variables);
        assert_eq!(o.only_thread, Some(12));
        assert_eq!(o.stop_limit, Some(crate::cutoff::DEFAULT_STOP_LIMIT));
        set_named_option(&mut o, "max-stop-ms", "250").unwrap();
        assert_eq!(o.stop_limit, Some(Duration::from_millis(250)));
        set_named_option(&mut o, "max-stop-ms", "0").unwrap();
        assert_eq!(o.stop_limit, None, "0 lifts the limit");
        assert!(o.debuginfod.enabled);
        set_named_option(&mut o, "no-debuginfod", "").unwrap();
        assert!(!o.debuginfod.enabled);
        set_named_option(&mut o, "debuginfod-timeout", "2.5").unwrap();
        assert_eq!(o.debuginfod.total_timeout, Duration::from_millis(2500));
        assert!(set_named_option(&mut o, "debuginfod-timeout", "-1").is_err());
        assert!(set_named_option(&mut o, "depth", "deep")
            .unwrap_err()
            .contains("--depth"));
        assert!(set_named_option(&mut o, "colour", "red")
            .unwrap_err()
            .contains("unknown option"));
        assert!(set_named_option(&mut o, "no-variables", "maybe").is_err());
    }
}
