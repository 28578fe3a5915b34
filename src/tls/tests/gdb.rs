//! gdb as the oracle: it attaches to the target, and for every thread prints `&var` of each
//! variable asked for (through glibc's libthread_db), or why it cannot.

use std::collections::HashMap;
use std::process::Command;

/// What gdb says of `&name` in thread `tid`: the address, or `None` when it cannot tell (not
/// allocated in that thread, or unknown symbol).
pub(super) type GdbAddresses = HashMap<(i32, String), Option<u64>>;

/// The gdb script: one `TLS <lwp> <name> <address>|none <why>` line per thread and variable.
const SCRIPT: &str = r#"
import gdb
for thread in gdb.selected_inferior().threads():
    thread.switch()
    for name in NAMES:
        try:
            print("TLS %d %s %d" % (thread.ptid[1], name, int(gdb.parse_and_eval("&" + name))))
        except gdb.error as error:
            print("TLS %d %s none %s" % (thread.ptid[1], name, str(error).replace("\n", " ")))
"#;

/// Attaches gdb to `pid` (which must not be traced by anyone else), asks every thread for the
/// addresses of `names`, detaches.
pub(super) fn tls_addresses(pid: i32, names: &[&str], dir: &std::path::Path) -> GdbAddresses {
    let script = dir.join("tls_addresses.py");
    let names_list: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    std::fs::write(&script, format!("NAMES = [{}]\n{SCRIPT}", names_list.join(", ")))
        .expect("gdb script written");
    let output = Command::new("gdb")
        .args(["-batch", "-nx", "-p", &pid.to_string(), "-x"])
        .arg(&script)
        .output()
        .expect("gdb runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let answers: GdbAddresses = stdout
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            (fields.next()? == "TLS").then_some(())?;
            let tid: i32 = fields.next()?.parse().ok()?;
            let name = fields.next()?.to_string();
            let address = fields.next()?.parse::<u64>().ok();
            Some(((tid, name), address))
        })
        .collect();
    assert!(
        !answers.is_empty(),
        "gdb gave no answer: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    answers
}
