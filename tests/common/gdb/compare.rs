//! Compares what gdb printed for a frame with the variables of the same frame in one of our
//! snapshots (`VARIABLE` objects of `schema/snapshot.schema.json`).
//!
//! The rules, leaf by leaf (and per frame: no variable here that gdb does not list, see
//! [`variables_gdb_lacks`]):
//! - every variable gdb lists must exist here (found by name in `frame["variables"]`, once per
//!   time gdb lists the name) and have the same value; a gdb `<optimized out>` must have no
//!   value here (state `optimized_out`, or a null value and no child with a value);
//!   `optimized_out` or
//!   `unreadable` here where gdb has a value is a mismatch. gdb's `<error: ...>` and other
//!   markers carry no value: nothing to compare;
//! - integers are equal (ours: a JSON number or a decimal string); gdb prints an integral float
//!   as an integer, so a float here is compared as a number; booleans compare as 0/1;
//! - characters compare by code; floats within a relative 1e-6 (`inf`/`nan` also match a null
//!   value, as JSON cannot hold them);
//! - pointers compare as addresses (ours: a hex string); when gdb shows the string a character
//!   pointer points to and ours has a `symbol`, one must be a prefix of the other (both readers
//!   may stop early);
//! - enums by label: ours `symbol` equals gdb's label, or gdb's qualified label ends with
//!   `::` + ours;
//! - character arrays by contents up to the first NUL (ours: `symbol`, else children codes);
//! - structs member by member through `children` (by name; gdb's `static` members are skipped),
//!   arrays element by element through children named `[0]`, `[1]`, ... (by name only); no
//!   children here while gdb has some is the depth limit, not a mismatch (nor are fewer
//!   elements when ours is `truncated`);
//! - a base-class section `<Base> = {...}` matches a child named `<Base>` or `Base` (the same
//!   qualified name, template arguments included); without one, its members are looked up among
//!   ours directly (inheritance flattened). Anonymous union/struct members likewise match a
//!   child with an empty or `<anonymous...>` name, else are flattened;
//! - an entry value gdb prints (`n=n@entry=5`, `n=<optimized out>, n@entry=5`) must be the
//!   `entry_value` of our parameter of that name, compared like a value; ours may have none that
//!   gdb does not print (see [`compare_entry_values`]);
//! - [`Tally`] counts all this over whole threads (frames found, variables listed, values
//!   equal, entry values, pointer symbols) for thresholds;
//! - a C++ reference `@ADDR: VALUE`: when ours has kind `reference`, its value must be ADDR and
//!   its children (if any) are compared with VALUE (or its only child, when that child is
//!   named `*...`); otherwise ours is taken to be the referred value itself.

use super::backtrace::GdbFrame;
use super::value::{GdbField, GdbFieldName, GdbValue};
use serde_json::Value;

/// Relative tolerance for floats.
const FLOAT_TOLERANCE: f64 = 1e-6;

/// One variable gdb lists in a frame (an argument or a local), paired with one of ours.
#[derive(Clone, Debug)]
pub struct PairedVariable<'g> {
    /// gdb lists it among the frame's arguments.
    pub parameter: bool,
    /// Its name.
    pub name: &'g str,
    /// What gdb printed.
    pub gdb: &'g GdbValue,
    /// The index of ours in the frame's `variables`; `None`: ours has no such variable.
    pub ours: Option<usize>,
    /// How ours differs from gdb's (empty: the same).
    pub mismatches: Vec<String>,
}

/// Pairs every argument and local gdb printed for `gdb` with the variables of `ours` (one frame
/// object of a snapshot) by name. A name gdb lists more than once (shadowing blocks, or a
/// variable gdb lists again from the abstract instance) is paired with our variables of that
/// name one to one, each gdb entry taking the first unused one that agrees with it (else the
/// first unused one).
pub fn pair_variables<'g>(gdb: &'g GdbFrame, ours: &Value) -> Vec<PairedVariable<'g>> {
    let empty = Vec::new();
    let variables = ours["variables"].as_array().unwrap_or(&empty);
    let mut used = vec![false; variables.len()];
    let entries = gdb
        .args
        .iter()
        .map(|(n, v)| (true, n, v))
        .chain(gdb.locals.iter().map(|(n, v)| (false, n, v)));
    let mut paired = Vec::new();
    for (is_parameter, name, value) in entries {
        let path = format!("{} #{}: {name}", gdb.function, gdb.index);
        let mut candidates: Vec<usize> = (0..variables.len())
            .filter(|&i| !used[i] && variables[i]["name"].as_str() == Some(name.as_str()))
            .collect();
        candidates.sort_by_key(|&i| variables[i]["parameter"].as_bool() != Some(is_parameter));
        let mut pair = PairedVariable {
            parameter: is_parameter,
            name,
            gdb: value,
            ours: None,
            mismatches: Vec::new(),
        };
        if candidates.is_empty() {
            pair.mismatches.push(match value {
                GdbValue::Unparsed(text) => format!("{path}: gdb value not understood: {text}"),
                _ => format!("{path}: gdb lists it ({value}), ours has no such variable"),
            });
            paired.push(pair);
            continue;
        }
        let mut first_failure: Option<(usize, Vec<String>)> = None;
        for &i in &candidates {
            let mut found = Vec::new();
            compare_variable(value, &variables[i], &path, &mut found);
            if found.is_empty() {
                pair.ours = Some(i);
                break;
            }
            if first_failure.is_none() {
                first_failure = Some((i, found));
            }
        }
        if pair.ours.is_none() {
            if let Some((i, found)) = first_failure {
                pair.ours = Some(i);
                pair.mismatches = found;
            }
        }
        if let Some(i) = pair.ours {
            used[i] = true;
        }
        paired.push(pair);
    }
    paired
}

/// Compares every argument and local gdb printed for `gdb` with the variables of `ours` (one
/// frame object of a snapshot, see [`pair_variables`]); returns the mismatches, each naming the
/// frame, the variable path, gdb's value and ours. Every variable gdb lists must be here, its
/// `<optimized out>` ones included.
pub fn compare_with_snapshot(gdb: &GdbFrame, ours: &Value) -> Vec<String> {
    pair_variables(gdb, ours)
        .into_iter()
        .flat_map(|pair| pair.mismatches)
        .collect()
}

/// Compares the entry values gdb printed for `gdb` (`n@entry=5`) with the `entry_value`s of the
/// parameters of `ours` (one frame object): each must be here and equal, and no parameter here
/// may have one that gdb does not print. Returns (how many gdb printed, the differences).
pub fn compare_entry_values(gdb: &GdbFrame, ours: &Value) -> (usize, Vec<String>) {
    let empty = Vec::new();
    let variables = ours["variables"].as_array().unwrap_or(&empty);
    let parameter = |name: &str| {
        variables
            .iter()
            .find(|v| v["parameter"] == true && v["name"].as_str() == Some(name))
    };
    let mut differences = Vec::new();
    for (name, value) in &gdb.entry_values {
        let path = format!("{} #{}: {name}@entry", gdb.function, gdb.index);
        let Some(ours) = parameter(name) else {
            differences.push(format!("{path}: gdb has {value}, ours has no such parameter"));
            continue;
        };
        if ours["entry_value"].is_null() {
            differences.push(format!("{path}: gdb has {value}, ours has no entry value"));
            continue;
        }
        // Our entry value as a variable of its own (a number or an address, nothing more).
        let entry = serde_json::json!({
            "name": name, "kind": ours["kind"], "type": ours["type"], "state": "ok",
            "value": ours["entry_value"], "symbol": null, "children": [],
        });
        compare_variable(value, &entry, &path, &mut differences);
    }
    for variable in variables {
        let name = variable["name"].as_str().unwrap_or("");
        if !variable["entry_value"].is_null() && !gdb.entry_values.iter().any(|(n, _)| n == name) {
            differences.push(format!(
                "{} #{}: ours has {name}@entry={}, gdb prints no entry value",
                gdb.function, gdb.index, variable["entry_value"]
            ));
        }
    }
    (gdb.entry_values.len(), differences)
}

/// What a comparison of snapshots with gdb counted, over every frame gdb printed.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Frames gdb printed.
    pub gdb_frames: usize,
    /// ... of which ours has (by [`align_frames`]).
    pub frames_found: usize,
    /// Variables (arguments and locals) gdb lists in those frames.
    pub listed: usize,
    /// ... of which ours lists too.
    pub listed_found: usize,
    /// Variables gdb prints a value for.
    pub printed: usize,
    /// ... whose value ours has, equal.
    pub printed_equal: usize,
    /// Variables gdb says are `<optimized out>`.
    pub optimized_out: usize,
    /// ... for which ours shows a value nonetheless.
    pub optimized_out_shown: usize,
    /// Entry values gdb prints (`n@entry=5`).
    pub entry_values: usize,
    /// ... which ours has, equal.
    pub entry_values_equal: usize,
    /// Entry values ours has that gdb does not print.
    pub entry_values_extra: usize,
    /// Locals gdb lists under a name it lists more than once (a name declared again in a
    /// nested block, innermost first; a variable listed again from the abstract instance).
    pub repeated: usize,
    /// ... that ours lists in the same order.
    pub repeated_in_order: usize,
    /// Pointers (arguments and locals) gdb names the symbol of (`0x... <hang_lock>`).
    pub pointer_symbols: usize,
    /// ... whose `target_symbol` ours has, the same.
    pub pointer_symbols_equal: usize,
    /// Every difference, described.
    pub differences: Vec<String>,
}

impl Tally {
    /// Counts one thread: gdb's frames of it against ours (a snapshot thread object).
    pub fn add_thread(&mut self, gdb: &[GdbFrame], ours_thread: &Value) {
        let empty = Vec::new();
        let ours = ours_thread["frames"].as_array().unwrap_or(&empty);
        let pairs = align_frames(gdb, ours);
        self.gdb_frames += gdb.len();
        for (g, frame) in gdb.iter().enumerate() {
            let Some(&(_, o)) = pairs.iter().find(|(pg, _)| *pg == g) else {
                self.differences
                    .push(format!("{} #{}: no such frame here", frame.function, frame.index));
                continue;
            };
            self.frames_found += 1;
            self.add_frame(frame, &ours[o]);
        }
    }

    fn add_frame(&mut self, gdb: &GdbFrame, ours: &Value) {
        let empty = Vec::new();
        let variables = ours["variables"].as_array().unwrap_or(&empty);
        let pairs = pair_variables(gdb, ours);
        // A name gdb lists more than once: ours in the same order (innermost block first).
        let mut last_of: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for pair in &pairs {
            if gdb.locals.iter().filter(|(n, _)| n == pair.name).count() < 2 || pair.parameter {
                continue;
            }
            let Some(index) = pair.ours else { continue };
            self.repeated += 1;
            match last_of.insert(pair.name, index) {
                Some(before) if before > index => self.differences.push(format!(
                    "{} #{}: {}: ours lists the declarations of this name in another order than gdb",
                    gdb.function, gdb.index, pair.name
                )),
                _ => self.repeated_in_order += 1,
            }
        }
        for pair in pairs {
            self.listed += 1;
            let same = pair.mismatches.is_empty();
            if pair.ours.is_some() {
                self.listed_found += 1;
            }
            if pair.gdb.has_value() {
                self.printed += 1;
                if pair.ours.is_some() && same {
                    self.printed_equal += 1;
                }
            }
            if *pair.gdb == GdbValue::OptimizedOut {
                self.optimized_out += 1;
                if pair.ours.is_some() && !same {
                    self.optimized_out_shown += 1;
                }
            }
            if let Some(ours) = pair.ours.and_then(|i| variables.get(i)) {
                let path = format!("{} #{}: {}", gdb.function, gdb.index, pair.name);
                self.add_pointer_symbols(pair.gdb, ours, &path);
            }
            self.differences.extend(pair.mismatches);
        }
        let (printed, differences) = compare_entry_values(gdb, ours);
        self.entry_values += printed;
        let extra = differences
            .iter()
            .filter(|d| d.ends_with("gdb prints no entry value"))
            .count();
        self.entry_values_extra += extra;
        self.entry_values_equal += printed - (differences.len() - extra);
        self.differences.extend(differences);
    }

    /// Counts the pointers of `gdb` (members and elements too, down to our depth) that gdb names
    /// the symbol of, and checks ours (`target_symbol`) names the same.
    fn add_pointer_symbols(&mut self, gdb: &GdbValue, ours: &Value, path: &str) {
        match gdb {
            GdbValue::Pointer(pointer) => {
                // `<error: Cannot access memory ...>` is gdb failing to read a string, not a symbol.
                let Some(symbol) = pointer.symbol.as_ref().filter(|s| !s.starts_with("error:")) else {
                    return;
                };
                self.pointer_symbols += 1;
                let theirs = ours["target_symbol"].as_str();
                if theirs.is_some_and(|theirs| same_symbol(symbol, theirs)) {
                    self.pointer_symbols_equal += 1;
                } else {
                    self.differences
                        .push(format!("{path}: gdb points to <{symbol}>, ours to {theirs:?}"));
                }
            }
            GdbValue::Struct(fields) => {
                for field in fields {
                    let GdbFieldName::Member(name) = &field.name else {
                        continue;
                    };
                    if let Some(child) = children(ours).iter().find(|c| c["name"].as_str() == Some(name)) {
                        self.add_pointer_symbols(&field.value, child, &format!("{path}.{name}"));
                    }
                }
            }
            GdbValue::Array { elements, .. } => {
                for (i, element) in elements.iter().enumerate() {
                    let name = format!("[{i}]");
                    if let Some(child) = children(ours).iter().find(|c| c["name"].as_str() == Some(&name)) {
                        self.add_pointer_symbols(element, child, &format!("{path}{name}"));
                    }
                }
            }
            _ => {}
        }
    }

    /// `part` of `whole` in percent (100 when `whole` is 0).
    pub fn percent(part: usize, whole: usize) -> f64 {
        if whole == 0 {
            100.0
        } else {
            100.0 * part as f64 / whole as f64
        }
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let line = |f: &mut std::fmt::Formatter<'_>, what: &str, part: usize, whole: usize| {
            writeln!(
                f,
                "{what}: {part} of {whole} ({:.2} %)",
                Tally::percent(part, whole)
            )
        };
        line(f, "gdb's frames found", self.frames_found, self.gdb_frames)?;
        line(f, "variables gdb lists, listed", self.listed_found, self.listed)?;
        line(f, "values gdb prints, equal", self.printed_equal, self.printed)?;
        writeln!(
            f,
            "gdb's <optimized out> shown with a value: {} of {}",
            self.optimized_out_shown, self.optimized_out
        )?;
        line(
            f,
            "entry values gdb prints, equal",
            self.entry_values_equal,
            self.entry_values,
        )?;
        writeln!(f, "entry values gdb does not print: {}", self.entry_values_extra)?;
        line(
            f,
            "names listed more than once, in gdb's order",
            self.repeated_in_order,
            self.repeated,
        )?;
        line(
            f,
            "pointer symbols gdb prints, equal",
            self.pointer_symbols_equal,
            self.pointer_symbols,
        )
    }
}

/// Pairs gdb's frames of one thread with ours (the `frames` array of a snapshot thread) by
/// function name, in order: each gdb frame takes the next of our frames (not before the last
/// one taken) whose `symbol` names the same function. Returns `(gdb index, ours index)` pairs.
pub fn align_frames(gdb: &[GdbFrame], ours: &[Value]) -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    let mut next = 0;
    for (g, frame) in gdb.iter().enumerate() {
        let found = ours.iter().enumerate().skip(next).find(|(_, o)| {
            o["symbol"]
                .as_str()
                .is_some_and(|s| same_function(&frame.function, s))
        });
        if let Some((o, _)) = found {
            pairs.push((g, o));
            next = o + 1;
        }
    }
    pairs
}

/// Compares every frame of a thread that [`align_frames`] pairs, its variables and their entry
/// values (and reports, for each, the variables of ours that gdb does not list: see
/// [`variables_gdb_lacks`]); also reports gdb
/// frames with at least one value that found no partner here.
pub fn compare_thread_with_snapshot(gdb: &[GdbFrame], ours_thread: &Value) -> Vec<String> {
    let empty = Vec::new();
    let ours = ours_thread["frames"].as_array().unwrap_or(&empty);
    let pairs = align_frames(gdb, ours);
    let mut mismatches = Vec::new();
    for (g, frame) in gdb.iter().enumerate() {
        match pairs.iter().find(|(pg, _)| *pg == g) {
            Some(&(_, o)) => {
                mismatches.extend(compare_with_snapshot(frame, &ours[o]));
                mismatches.extend(compare_entry_values(frame, &ours[o]).1);
                mismatches.extend(variables_gdb_lacks(frame, &ours[o]));
            }
            None if frame.values().any(GdbValue::has_value) => mismatches.push(format!(
                "{} #{}: gdb frame with values has no matching frame here",
                frame.function, frame.index
            )),
            None => {}
        }
    }
    mismatches
}

/// The variables of `ours` (one frame object) whose names gdb does not list among the frame's
/// arguments and locals: a variable gdb does not see is one this snapshot should not show either
/// (e.g. the unnamed parameters of a member function's declaration).
pub fn variables_gdb_lacks(gdb: &GdbFrame, ours: &Value) -> Vec<String> {
    let empty = Vec::new();
    ours["variables"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .filter_map(|variable| {
            let name = variable["name"].as_str().unwrap_or("");
            let listed = gdb.args.iter().chain(&gdb.locals).any(|(n, _)| n == name);
            (!listed).then(|| {
                format!(
                    "{} #{}: ours has {name:?} ({}), gdb does not list it",
                    gdb.function,
                    gdb.index,
                    summary(variable)
                )
            })
        })
        .collect()
}

/// Whether gdb's function name and our symbol name the same function: equal once a trailing
/// parameter list (`(int, char**)`, `() const`) is removed from both.
pub fn same_function(gdb_name: &str, ours_symbol: &str) -> bool {
    strip_parameters(gdb_name) == strip_parameters(ours_symbol)
}

/// Whether gdb's `<name+offset>` after a pointer and our `target_symbol` name the same place:
/// the same offset (decimal, none for 0) into the same function or object ([`same_function`]:
/// gdb names a C++ function with its parameter list, `main(int, char**)`).
fn same_symbol(gdb: &str, ours: &str) -> bool {
    let split = |text: &str| -> (String, u64) {
        match text.rsplit_once('+') {
            Some((name, offset)) if !offset.is_empty() && offset.bytes().all(|b| b.is_ascii_digit()) => {
                (name.to_string(), offset.parse().unwrap_or(u64::MAX))
            }
            _ => (text.to_string(), 0),
        }
    };
    let (gdb_name, gdb_offset) = split(gdb);
    let (our_name, our_offset) = split(ours);
    gdb_offset == our_offset && same_function(&gdb_name, &our_name)
}

/// `ns::f(int, char**) const` → `ns::f`; names without a trailing parameter list unchanged.
fn strip_parameters(name: &str) -> &str {
    let trimmed = name.trim();
    let without_const = trimmed.strip_suffix(" const").unwrap_or(trimmed);
    if !without_const.ends_with(')') {
        return trimmed;
    }
    let mut depth = 0i32;
    for (i, c) in without_const.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth -= 1;
                if depth == 0 {
                    return without_const.get(..i).unwrap_or(trimmed).trim_end();
                }
            }
            _ => {}
        }
    }
    trimmed
}

/// Compares one gdb value with one of our variables, appending mismatches under `path`.
fn compare_variable(gdb: &GdbValue, ours: &Value, path: &str, out: &mut Vec<String>) {
    let state = ours["state"].as_str().unwrap_or("ok");
    match gdb {
        GdbValue::OptimizedOut => {
            if state != "optimized_out" && has_value(ours) {
                out.push(format!(
                    "{path}: gdb says <optimized out>, ours has {}",
                    summary(ours)
                ));
            }
        }
        GdbValue::Error(_) | GdbValue::Unavailable(_) => {}
        GdbValue::Unparsed(text) => out.push(format!("{path}: gdb value not understood: {text}")),
        _ if state == "optimized_out" || state == "unreadable" => {
            out.push(format!("{path}: gdb has {gdb}, ours is {state}"));
        }
        _ => compare_present(gdb, ours, path, out),
    }
}

/// Compares a gdb value that is present with ours (whose state is ok or truncated).
fn compare_present(gdb: &GdbValue, ours: &Value, path: &str, out: &mut Vec<String>) {
    let mismatch = |out: &mut Vec<String>| {
        out.push(format!("{path}: gdb has {gdb}, ours has {}", summary(ours)));
    };
    match gdb {
        GdbValue::Int(n) => {
            if is_float_kind(ours) {
                if !floats_match(*n as f64, ours) {
                    mismatch(out);
                }
            } else if ours_integer(ours) != Some(*n) {
                mismatch(out);
            }
        }
        GdbValue::Bool(b) => {
            let agrees = match &ours["value"] {
                Value::Bool(o) => o == b,
                _ => ours_integer(ours) == Some(i128::from(*b)),
            };
            if !agrees {
                mismatch(out);
            }
        }
        GdbValue::Char { code, .. } => {
            if ours_integer(ours) != Some(i128::from(*code)) {
                mismatch(out);
            }
        }
        GdbValue::Float(x) => {
            if !floats_match(*x, ours) {
                mismatch(out);
            }
        }
        GdbValue::Enum(label) => {
            let agrees = ours["symbol"].as_str().is_some_and(|s| {
                s == label || label.ends_with(&format!("::{s}")) || s.ends_with(&format!("::{label}"))
            });
            if !agrees {
                mismatch(out);
            }
        }
        GdbValue::Pointer(pointer) => {
            if ours_address(ours) != Some(pointer.address) {
                mismatch(out);
            } else if let (Some(text), Some(symbol)) = (&pointer.string, ours["symbol"].as_str()) {
                let text = String::from_utf8_lossy(text);
                if !text.starts_with(symbol) && !symbol.starts_with(text.as_ref()) {
                    out.push(format!(
                        "{path}: gdb's string {text:?} differs from ours {symbol:?}"
                    ));
                }
            }
        }
        GdbValue::Reference { address, target } => {
            if ours["kind"].as_str() == Some("reference") {
                if let Some(address) = address {
                    if ours_address(ours) != Some(*address) {
                        mismatch(out);
                        return;
                    }
                }
                compare_referent(target, ours, path, out);
            } else {
                compare_variable(target, ours, path, out);
            }
        }
        GdbValue::CharArray { bytes, truncated } => compare_char_array(bytes, *truncated, ours, path, out),
        GdbValue::Array { elements, truncated } => compare_array(elements, *truncated, ours, path, out),
        GdbValue::Struct(fields) => compare_struct(fields, ours, path, out),
        GdbValue::OptimizedOut | GdbValue::Error(_) | GdbValue::Unavailable(_) | GdbValue::Unparsed(_) => {
            compare_variable(gdb, ours, path, out)
        }
    }
}

/// The value a reference binds to, against the children of our reference variable.
fn compare_referent(target: &GdbValue, ours: &Value, path: &str, out: &mut Vec<String>) {
    let children = children(ours);
    if children.is_empty() {
        return;
    }
    // The referent as one child (`*item`) rather than as our own children.
    if let [only] = children {
        if only["name"].as_str().is_some_and(|n| n.starts_with('*')) {
            compare_variable(target, only, path, out);
            return;
        }
    }
    match target {
        GdbValue::Struct(fields) => compare_struct(fields, ours, path, out),
        GdbValue::Array { elements, truncated } => compare_array(elements, *truncated, ours, path, out),
        scalar => {
            if let [only] = children {
                compare_variable(scalar, only, path, out);
            }
        }
    }
}

fn compare_char_array(bytes: &[u8], truncated: bool, ours: &Value, path: &str, out: &mut Vec<String>) {
    let up_to_nul = |b: &[u8]| b.split(|&c| c == 0).next().unwrap_or(&[]).to_vec();
    let gdb_text = up_to_nul(bytes);
    if let Some(symbol) = ours["symbol"].as_str() {
        let ours_text = up_to_nul(symbol.as_bytes());
        let lossy_gdb = String::from_utf8_lossy(&gdb_text).into_owned().into_bytes();
        let ours_truncated = ours["state"].as_str() == Some("truncated");
        let agrees = ours_text == lossy_gdb
            || truncated && ours_text.starts_with(&lossy_gdb)
            || ours_truncated && lossy_gdb.starts_with(&ours_text);
        if !agrees {
            out.push(format!(
                "{path}: gdb has {:?}, ours has {symbol:?}",
                String::from_utf8_lossy(&gdb_text)
            ));
        }
        return;
    }
    for (i, child) in children(ours).iter().enumerate().take(bytes.len()) {
        let Some(&byte) = bytes.get(i) else { break };
        if ours_integer(child).map(|c| c & 0xff) != Some(i128::from(byte)) {
            out.push(format!(
                "{path}[{i}]: gdb has byte {byte}, ours has {}",
                summary(child)
            ));
        }
    }
}

fn compare_array(elements: &[GdbValue], truncated: bool, ours: &Value, path: &str, out: &mut Vec<String>) {
    let children = children(ours);
    if children.is_empty() {
        return;
    }
    let ours_truncated = ours["state"].as_str() == Some("truncated");
    if children.len() < elements.len() && !ours_truncated || children.len() > elements.len() && !truncated {
        out.push(format!(
            "{path}: gdb has {} elements, ours has {}",
            elements.len(),
            children.len()
        ));
    }
    for (i, element) in elements.iter().enumerate() {
        let name = format!("[{i}]");
        match children
            .iter()
            .find(|c| c["name"].as_str() == Some(name.as_str()))
        {
            Some(child) => compare_variable(element, child, &format!("{path}{name}"), out),
            // Fewer elements here: the count check above said whether that is allowed.
            None if i >= children.len() => {}
            None => out.push(format!("{path}: ours has no element named {name}")),
        }
    }
}

fn compare_struct(fields: &[GdbField], ours: &Value, path: &str, out: &mut Vec<String>) {
    let children = children(ours);
    if children.is_empty() {
        return;
    }
    let mut anonymous_seen = 0;
    for field in fields {
        match &field.name {
            GdbFieldName::Member(name) if name.starts_with("static ") => {}
            GdbFieldName::Member(name) => {
                let member_path = format!("{path}.{name}");
                match children
                    .iter()
                    .find(|c| c["name"].as_str() == Some(name.as_str()))
                {
                    Some(child) => compare_variable(&field.value, child, &member_path, out),
                    None if field.value.has_value() => out.push(format!(
                        "{member_path}: gdb has {}, ours has no such member",
                        field.value
                    )),
                    None => {}
                }
            }
            GdbFieldName::Base(base) => {
                let base_path = format!("{path}.<{base}>");
                match children
                    .iter()
                    .find(|c| c["name"].as_str().is_some_and(|n| names_base(n, base)))
                {
                    Some(child) => compare_variable(&field.value, child, &base_path, out),
                    None => compare_variable(&field.value, ours, &base_path, out),
                }
            }
            GdbFieldName::Anonymous => {
                let anonymous: Vec<&Value> = children
                    .iter()
                    .filter(|c| c["name"].as_str().is_some_and(is_anonymous_name))
                    .collect();
                let anonymous_path = format!("{path}.<anonymous {anonymous_seen}>");
                match anonymous.get(anonymous_seen) {
                    Some(child) => compare_variable(&field.value, child, &anonymous_path, out),
                    None => compare_variable(&field.value, ours, &anonymous_path, out),
                }
                anonymous_seen += 1;
            }
        }
    }
}

/// Whether a child called `name` stands for the base class gdb calls `base`
/// (`shop::inventory::Item`): the same name, bare or in angle brackets as snapshots write it
/// (`<shop::inventory::Item>`).
fn names_base(name: &str, base: &str) -> bool {
    let bracketed = name.strip_prefix('<').and_then(|inner| inner.strip_suffix('>'));
    name == base || bracketed == Some(base)
}

/// Whether a child name stands for an anonymous union or struct member.
fn is_anonymous_name(name: &str) -> bool {
    name.is_empty() || name.starts_with("<anonymous") || name.starts_with("(anonymous")
}

/// The children of one of our variables (none when absent).
fn children(ours: &Value) -> &[Value] {
    ours["children"].as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// Whether one of our variables holds a value: a non-null value, or a child that does.
fn has_value(ours: &Value) -> bool {
    ours["state"].as_str() != Some("optimized_out")
        && (!ours["value"].is_null() || children(ours).iter().any(has_value))
}

/// Whether ours is a floating-point variable.
fn is_float_kind(ours: &Value) -> bool {
    matches!(ours["kind"].as_str(), Some("flt" | "dbl" | "ldbl")) || ours["value"].is_f64()
}

/// Our value as an integer: a JSON integer, a decimal (or hex) string, or a boolean.
fn ours_integer(ours: &Value) -> Option<i128> {
    match &ours["value"] {
        Value::Number(n) => n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from)),
        Value::String(s) => match s.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok().map(i128::from),
            None => s.parse().ok(),
        },
        Value::Bool(b) => Some(i128::from(*b)),
        _ => None,
    }
}

/// Our value as an address: a hex string, or a JSON integer.
fn ours_address(ours: &Value) -> Option<u64> {
    match &ours["value"] {
        Value::String(s) => match s.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => s.parse().ok(),
        },
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// Whether gdb's float `x` and our value agree within [`FLOAT_TOLERANCE`] (relative).
fn floats_match(x: f64, ours: &Value) -> bool {
    let value = &ours["value"];
    let theirs = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse::<f64>().ok(),
        _ => None,
    };
    match theirs {
        None => !x.is_finite() && value.is_null(),
        Some(y) if x.is_nan() || y.is_nan() => x.is_nan() && y.is_nan(),
        Some(y) if x.is_infinite() || y.is_infinite() => x == y,
        Some(y) => (x - y).abs() <= FLOAT_TOLERANCE * x.abs().max(y.abs()),
    }
}

/// A short description of one of our variables for mismatch messages.
fn summary(ours: &Value) -> String {
    let mut text = format!(
        "value {} ({}, state {})",
        ours["value"],
        ours["kind"].as_str().unwrap_or("?"),
        ours["state"].as_str().unwrap_or("?")
    );
    if let Some(symbol) = ours["symbol"].as_str() {
        text.push_str(&format!(" symbol {symbol:?}"));
    }
    let count = children(ours).len();
    if count > 0 {
        text.push_str(&format!(" with {count} children"));
    }
    text
}
