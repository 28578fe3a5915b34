//! The errors of the TLS module.

/// Why the TLS blocks of a process cannot be resolved at all.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// No `r_debug` rendezvous structure was found: no object has a filled-in `DT_DEBUG` entry and
    /// no loaded object defines `_r_debug`.
    #[error(
        "no dynamic loader rendezvous (r_debug) found: no DT_DEBUG entry filled in by ld.so and no \
         _r_debug symbol (statically linked executable, or the loader has not run yet)"
    )]
    NoRendezvous,
    /// A read of the target's loader data failed.
    #[error("cannot read {what} at {address:#x} in the target")]
    Unreadable {
        /// What was being read.
        what: &'static str,
        /// Where.
        address: u64,
    },
    /// The offsets of the TLS fields of glibc's (non-ABI) `struct link_map` are unknown.
    #[error("the offsets of l_tls_modid / l_tls_offset in glibc's struct link_map are unknown: {why}")]
    LayoutUnknown {
        /// What was tried and why each source failed.
        why: String,
    },
}
