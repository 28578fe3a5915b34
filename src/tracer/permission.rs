//! Why the kernel refuses to let this process trace another, and what to do about it, as far
//! as `/proc` tells.

use super::proc_files;

/// Why the kernel refused (`EPERM`) to let this process trace thread `tid` of `pid`, and what
/// to do, as far as `/proc` tells: another tracer of that very thread; otherwise the rule that
/// applies to this process (no `CAP_SYS_PTRACE`, another user, Yama's `ptrace_scope`); with the
/// capability, a protection this process cannot lift.
pub(super) fn permission_hint(pid: i32, tid: i32) -> String {
    if let Some(tracer) = proc_files::tracer_of(pid, tid) {
        let who = if tid == pid {
            format!("process {pid}")
        } else {
            format!("its thread {tid}")
        };
        return format!(
            "{who} is already traced by {} (a thread has one tracer at a time: detach that one first)",
            proc_files::describe_task(tracer)
        );
    }
    let scope = proc_files::yama_ptrace_scope();
    if scope == Some(3) {
        return "/proc/sys/kernel/yama/ptrace_scope is 3: no process may trace another until a reboot"
            .to_string();
    }
    if proc_files::has_cap_sys_ptrace() {
        return "the kernel refused although ptrace has CAP_SYS_PTRACE: the process is protected \
                (not dumpable in another user namespace, a security module such as SELinux or \
                AppArmor, or a container boundary)"
            .to_string();
    }
    let mut hint = String::from("run as root or with CAP_SYS_PTRACE");
    let own_uid = proc_files::uid_of(std::process::id() as i32);
    match proc_files::uid_of(pid) {
        Some(uid) if Some(uid) != own_uid => hint = format!("it runs as another user (uid {uid}): {hint}"),
        Some(_) => {
            hint = format!(
                "it is not dumpable (a setuid or file-capability program, or it said so with prctl): {hint}"
            )
        }
        None => {}
    }
    match scope {
        Some(1) => format!(
            "{hint}, or lower /proc/sys/kernel/yama/ptrace_scope to 0 (at 1, only ancestors may trace without the capability)"
        ),
        Some(2) => format!("{hint} (/proc/sys/kernel/yama/ptrace_scope is 2: only CAP_SYS_PTRACE may attach)"),
        _ => hint,
    }
}
