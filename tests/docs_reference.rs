//! The reference documentation keeps up with the code: every function of `include/pmodule.h`
//! (and every constant and type it defines) is in `docs/c-api.md`; every function and method the
//! Lua API registers (`src/lua/`) is in `docs/lua-api.md` and in `lua/pmodule.d.lua`; every long
//! option of the CLI (`ptrace --help` and its subcommands') is in `docs/operators-guide.md`; every
//! property and definition of the JSON schema has a description; and nothing the project ships
//! points into the team's own notes folder, which users do not have.

// Test code: a panic on unexpected input is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn read(relative: &str) -> String {
    std::fs::read_to_string(common::repo().join(relative)).unwrap_or_else(|e| panic!("read {relative}: {e}"))
}

/// The identifiers made of `[A-Za-z0-9_]` that start `text`.
fn identifier(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The identifier right before the first `(` of `line`.
fn name_before_paren(line: &str) -> Option<&str> {
    let head = line[..line.find('(')?].trim_end();
    let start = head
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(0, |i| i + 1);
    Some(&head[start..]).filter(|n| !n.is_empty())
}

/// Every function the header declares or defines (the generated declarations and the
/// `static inline` wrappers of its trailer): the lines that start at column 0 with a type and
/// have a `(`.
fn header_functions(header: &str) -> BTreeSet<String> {
    header
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_alphabetic()) && !l.starts_with("typedef"))
        .filter(|l| !l.starts_with("extern"))
        .filter_map(name_before_paren)
        .map(str::to_string)
        .collect()
}

/// The macros and constants the header defines, but its include guards and the helpers of its
/// own trailer (`PMODULE_EXTERN_C`, `PMODULE_FORMATTED_`).
fn header_defines(header: &str) -> BTreeSet<String> {
    header
        .lines()
        .filter_map(|l| l.strip_prefix("#define "))
        .map(|rest| identifier(rest).to_string())
        .filter(|n| !n.ends_with("_H") && n != "PMODULE_EXTERN_C" && !n.ends_with('_'))
        .collect()
}

/// The types the header names with `typedef` (opaque handles, structs, callback types).
fn header_types(header: &str) -> BTreeSet<String> {
    let mut types = BTreeSet::new();
    for line in header.lines().filter(|l| l.starts_with("typedef ")) {
        if let Some(name) = line
            .strip_prefix("typedef void (*")
            .or_else(|| line.strip_prefix("typedef bool (*"))
        {
            types.insert(identifier(name).to_string());
        } else if line.ends_with('{') {
            // `typedef struct NAME {` ... `} NAME;`
            let name = line
                .trim_end_matches('{')
                .trim()
                .rsplit(' ')
                .next()
                .unwrap_or_default();
            types.insert(name.to_string());
        } else if let Some(body) = line.strip_suffix(';') {
            types.insert(body.rsplit(' ').next().unwrap_or_default().to_string());
        }
    }
    types.retain(|t| !t.is_empty());
    types
}

/// Whether `text` holds `word` as a whole word (not inside a longer identifier: `pmodule_log` is
/// not found in `pmodule_log_str`).
fn contains_word(text: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back().is_none_or(|c| !is_ident(c));
        let after = text[i + word.len()..].chars().next().is_none_or(|c| !is_ident(c));
        before && after
    })
}

/// The names of `expected` that `text` does not hold as whole words.
fn missing_words<'a>(expected: impl IntoIterator<Item = &'a String>, text: &str) -> Vec<String> {
    expected
        .into_iter()
        .filter(|name| !contains_word(text, name))
        .cloned()
        .collect()
}

#[test]
fn every_function_constant_and_type_of_the_c_header_is_in_the_c_api_reference() {
    let header = read("include/pmodule.h");
    let doc = read("docs/c-api.md");
    let functions = header_functions(&header);
    assert!(
        functions.len() > 140,
        "the header parser found {} functions",
        functions.len()
    );
    for known in [
        "ptrace_session_create",
        "bt_variable_ull",
        "pmodule_log",
        "pmodule_variable_state",
    ] {
        assert!(functions.contains(known), "the header parser missed {known}");
    }
    let defines = header_defines(&header);
    assert!(defines.contains("PMODULE_DEFINE") && defines.contains("PTRACE_VARIABLE_S_SKIP"));
    let types = header_types(&header);
    assert!(
        types.contains("pmodule_variable_cb") && types.contains("bt_variable_t"),
        "{types:?}"
    );

    let missing: Vec<String> = [functions, defines, types]
        .iter()
        .flat_map(|set| missing_words(set, &doc))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/c-api.md does not document these names of include/pmodule.h: {missing:?}"
    );
}

/// The Lua API as `src/lua/` registers it: `pmodule.NAME` functions and tables, and the methods
/// of each object as `OBJECT:NAME` (the labels the code gives them).
fn lua_api() -> (BTreeSet<String>, BTreeSet<String>, BTreeSet<String>) {
    // Without whitespace, so that however rustfmt wraps a call, it reads the same.
    let api: String = read("src/lua/api.rs").split_whitespace().collect();
    let mut functions = BTreeSet::new();
    let registration = "add(lua,&pm,\"pmodule.";
    for (i, _) in api.match_indices(registration) {
        functions.insert(identifier(&api[i + registration.len()..]).to_string());
    }
    let mut tables = BTreeSet::new();
    for (i, _) in api.match_indices("pm.set(\"") {
        tables.insert(identifier(&api[i + "pm.set(\"".len()..]).to_string());
    }
    let objects = ["bt", "thread", "frame", "variable", "match", "siginfo", "pmap"];
    let mut methods = BTreeSet::new();
    let dir = common::repo().join("src/lua/objects");
    for entry in std::fs::read_dir(&dir).expect("src/lua/objects") {
        let path = entry.expect("a file").path();
        let source = std::fs::read_to_string(&path).expect("read a source file");
        for object in objects {
            for (i, _) in source.match_indices(&format!("\"{object}:")) {
                let name = identifier(&source[i + object.len() + 2..]);
                if !name.is_empty() {
                    methods.insert(format!("{object}:{name}"));
                }
            }
        }
        // Match methods without a label: `methods.add_method_mut("reset", ...)`.
        if path.file_name().is_some_and(|n| n == "matchobj.rs") {
            for (i, _) in source.match_indices("add_method_mut(\"") {
                methods.insert(format!("match:{}", identifier(&source[i + 16..])));
            }
        }
    }
    (functions, tables, methods)
}

/// The class `lua/pmodule.d.lua` declares for each object of the Lua API.
fn stub_class(object: &str) -> &'static str {
    match object {
        "bt" => "Backtrace",
        "thread" => "Thread",
        "frame" => "Frame",
        "variable" => "Variable",
        "match" => "Match",
        "siginfo" => "SigInfo",
        "pmap" => "Pmap",
        other => panic!("no stub class for {other}"),
    }
}

#[test]
fn every_function_and_method_of_the_lua_api_is_in_the_lua_reference_and_the_editor_stubs() {
    let (functions, tables, methods) = lua_api();
    assert!(
        functions.len() >= 20 && functions.contains("define") && functions.contains("create_frame"),
        "{functions:?}"
    );
    assert!(
        tables.contains("event") && tables.contains("pmap_perms"),
        "{tables:?}"
    );
    assert!(methods.len() > 80 && methods.contains("match:reset") && methods.contains("bt:pid"));
    let doc = read("docs/lua-api.md");
    let stubs = read("lua/pmodule.d.lua");

    let mut missing = Vec::new();
    for name in functions.iter().chain(&tables) {
        if !doc.contains(&format!("`pmodule.{name}")) {
            missing.push(format!("docs/lua-api.md: pmodule.{name}"));
        }
        if !stubs.contains(&format!("function pmodule.{name}("))
            && !stubs.contains(&format!("pmodule.{name} ="))
        {
            missing.push(format!("lua/pmodule.d.lua: pmodule.{name}"));
        }
    }
    for method in &methods {
        let (object, name) = method.split_once(':').expect("OBJECT:NAME");
        if !doc.contains(&format!("`{method}(")) {
            missing.push(format!("docs/lua-api.md: {method}"));
        }
        let class = stub_class(object);
        if !stubs.contains(&format!("function {class}:{name}("))
            && !stubs.contains(&format!("{class}.{name} ="))
        {
            missing.push(format!("lua/pmodule.d.lua: {class}:{name}"));
        }
    }
    assert!(missing.is_empty(), "Lua API not documented: {missing:#?}");
}

#[test]
fn the_editor_stubs_type_every_callback() {
    let stubs = read("lua/pmodule.d.lua");
    assert!(
        !stubs.contains("fun(...)"),
        "lua/pmodule.d.lua has an untyped callback (fun(...))"
    );
    for callback in [
        "fun(bt: pmodule.Backtrace)",
        "fun(thr: pmodule.Thread)",
        "fun(fr: pmodule.Frame)",
        "fun(var: pmodule.Variable, btvar: pmodule.BtVariable|nil)",
    ] {
        assert!(stubs.contains(callback), "lua/pmodule.d.lua lacks {callback}");
    }
}

/// The long options `ptrace ARGS --help` lists.
fn long_options(args: &[&str]) -> BTreeSet<String> {
    let output = Command::new(common::ptrace_bin())
        .args(args)
        .arg("--help")
        .output()
        .expect("run ptrace --help");
    assert!(output.status.success(), "ptrace {args:?} --help failed");
    let help = String::from_utf8_lossy(&output.stdout);
    let mut options = BTreeSet::new();
    for line in help.lines() {
        let line = line.trim_start();
        // `-o, --output <FILE>` or `--exec`: the option that starts the line.
        let line = line
            .strip_prefix("-o, ")
            .or_else(|| line.strip_prefix("-O, "))
            .unwrap_or(line);
        let line = line
            .strip_prefix("-h, ")
            .or_else(|| line.strip_prefix("-V, "))
            .unwrap_or(line);
        if let Some(rest) = line.strip_prefix("--") {
            let name = rest
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .next()
                .unwrap_or_default();
            if !name.is_empty() {
                options.insert(name.to_string());
            }
        }
    }
    options
}

#[test]
fn every_long_option_of_the_cli_is_in_the_operators_guide() {
    let mut options = long_options(&[]);
    assert!(
        options.contains("max-stop-ms") && options.contains("no-variables"),
        "{options:?}"
    );
    for subcommand in ["submit", "dump", "view"] {
        options.extend(long_options(&[subcommand]));
    }
    options.remove("help");
    options.remove("version");
    let guide = read("docs/operators-guide.md");
    let missing: Vec<&String> = options
        .iter()
        .filter(|name| {
            !guide.match_indices(&format!("`--{name}")).any(|(i, m)| {
                let next = guide[i + m.len()..].chars().next().unwrap_or(' ');
                !(next.is_ascii_alphanumeric() || next == '-')
            })
        })
        .collect();
    assert!(
        missing.is_empty(),
        "docs/operators-guide.md lacks these options: {missing:?}"
    );
    for subcommand in ["ptrace submit", "ptrace dump", "ptrace view"] {
        assert!(
            guide.contains(subcommand),
            "docs/operators-guide.md lacks {subcommand}"
        );
    }
}

/// Paths (JSON pointers) of the properties and definitions of `node` that have no description.
fn undescribed(node: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    match node {
        serde_json::Value::Object(map) => {
            for key in ["properties", "$defs"] {
                if let Some(serde_json::Value::Object(children)) = map.get(key) {
                    for (name, child) in children {
                        if child
                            .get("description")
                            .and_then(|d| d.as_str())
                            .is_none_or(str::is_empty)
                        {
                            out.push(format!("{path}/{key}/{name}"));
                        }
                    }
                }
            }
            for (key, child) in map {
                undescribed(child, &format!("{path}/{key}"), out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                undescribed(child, &format!("{path}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_property_and_definition_of_the_schema_has_a_description() {
    let dir = common::repo().join("schema");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("schema/") {
        let path = entry.expect("a file").path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
        let mut missing = Vec::new();
        undescribed(&schema, "", &mut missing);
        assert!(
            missing.is_empty(),
            "{}: no description at {missing:#?}",
            path.display()
        );
        checked += 1;
    }
    assert!(checked > 0, "no schema found in schema/");
}

/// Every file under `path` (a file or a folder), recursively.
fn files_under(path: &Path, out: &mut Vec<std::path::PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).expect("read a folder") {
            files_under(&entry.expect("an entry").path(), out);
        }
    } else {
        out.push(path.to_path_buf());
    }
}

#[test]
fn nothing_shipped_points_into_the_teams_shared_notes() {
    let repo = common::repo();
    let mut files = Vec::new();
    for place in ["README.md", "docs", "schema", "lua", "include", "src"] {
        files_under(&repo.join(place), &mut files);
    }
    assert!(files.len() > 50, "found only {} files", files.len());
    let needle = concat!("shared", "/");
    let mut found = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue; // a picture
        };
        for (n, line) in text.lines().enumerate() {
            if line.contains(needle) {
                found.push(format!("{}:{}: {line}", file.display(), n + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "references to a shared notes folder: {found:#?}"
    );
}

#[test]
fn the_docs_index_links_every_page_and_every_link_between_pages_resolves() {
    let docs = common::repo().join("docs");
    let index = read("docs/README.md");
    let mut pages = Vec::new();
    for entry in std::fs::read_dir(&docs).expect("docs/") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    for page in &pages {
        let name = page.file_name().and_then(|n| n.to_str()).expect("a name");
        if name != "README.md" {
            assert!(
                index.contains(&format!("({name})")),
                "docs/README.md does not link {name}"
            );
        }
        // Relative links to other Markdown files must name files that exist.
        let text = std::fs::read_to_string(page).expect("read a page");
        for (i, _) in text.match_indices("](") {
            let target = &text[i + 2..];
            let target = &target[..target.find(')').unwrap_or(0)];
            let file = target.split('#').next().unwrap_or_default();
            if file.is_empty() || file.contains("://") || !file.ends_with(".md") {
                continue;
            }
            assert!(
                page.parent().expect("a folder").join(file).is_file(),
                "{name}: the link {target} names no file"
            );
        }
    }
}
