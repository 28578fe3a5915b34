//! The signal of the faulting frame (`frame:siginfo()`), from the snapshot's fault record.

use crate::snapshot::Fault;
use std::fmt;

/// A signal as modules see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigInfo {
    /// Signal number.
    pub num: i32,
    /// Signal name (`SIGSEGV`), when known.
    pub name: Option<String>,
    /// `si_code`.
    pub code: i32,
    /// The faulting address, when the signal carries one.
    pub address: Option<u64>,
    /// Human-readable reason.
    pub reason: String,
}

impl SigInfo {
    /// The signal recorded in `fault` (none for a thread only marked faulted, signal 0).
    pub fn from_fault(fault: &Fault) -> Option<Self> {
        (fault.signal != 0).then(|| SigInfo {
            num: fault.signal,
            name: fault.signal_name.clone(),
            code: fault.code,
            address: fault.address.map(|a| a.0),
            reason: fault.reason.clone(),
        })
    }

    /// Whether a process sent it (`kill`, `tkill`, `sigqueue`: `si_code <= 0`) rather than the
    /// kernel.
    pub fn sent_by_kill(&self) -> bool {
        self.code <= 0
    }
}

impl fmt::Display for SigInfo {
    /// `SIGSEGV (11): address not mapped to object, code 1, address 0x10`; never contains a
    /// double quote or backslash, so modules can put it inside JSON strings.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self
            .name
            .clone()
            .unwrap_or_else(|| format!("signal {}", self.num));
        write!(
            f,
            "{name} ({}): {}, code {}",
            self.num,
            self.reason.replace(['"', '\\'], "'"),
            self.code
        )?;
        if let Some(address) = self.address {
            write!(f, ", address {address:#x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Address;

    #[test]
    fn from_fault_and_text() {
        let fault = Fault {
            tid: 7,
            signal: 11,
            signal_name: Some("SIGSEGV".into()),
            code: 1,
            address: Some(Address(0x10)),
            reason: "address not mapped to object".into(),
        };
        let si = SigInfo::from_fault(&fault).unwrap();
        assert!(!si.sent_by_kill());
        assert_eq!(
            si.to_string(),
            "SIGSEGV (11): address not mapped to object, code 1, address 0x10"
        );
        let marked = Fault { signal: 0, ..fault };
        assert!(SigInfo::from_fault(&marked).is_none());
    }
}
