//! Identities at a backend: the snapshot's (a UUID derived from what makes the snapshot itself —
//! process, executable, time, fault — so that submitting the same saved snapshot again gives the
//! same event id, which backends take as the same event), and an ELF object's debug identifier
//! derived from its GNU build id, which Sentry and Breakpad-style backends share.

use crate::snapshot::Snapshot;

/// The namespace of libptrace's snapshot UUIDs (version 5, name-based).
const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x5f1c_2a7e_9b04_4d61_a3e8_7c0d_41b6_92f3);

/// The snapshot's UUID: the same for the same snapshot, different for any other.
pub fn snapshot_uuid(snapshot: &Snapshot) -> uuid::Uuid {
    let fault = snapshot
        .fault
        .as_ref()
        .map(|f| format!("{}:{}:{}", f.tid, f.signal, f.address.map_or(0, |a| a.0)))
        .unwrap_or_default();
    let name = format!(
        "{}\0{}\0{}\0{}\0{}\0{}\0{}",
        snapshot.pid,
        snapshot.executable,
        snapshot.timestamp,
        snapshot.timing.total_us,
        snapshot.threads.len(),
        fault,
        snapshot.core.as_ref().map_or("", |c| c.file.as_str())
    );
    uuid::Uuid::new_v5(&NAMESPACE, name.as_bytes())
}

/// The GUID Breakpad and Sentry derive from an ELF object's GNU build id (hex): its first 16
/// bytes (zero-padded), the first three GUID fields byte-swapped, as the object is little-endian
/// (x86-64). `None` when the text is empty or not hex. Sentry writes it as a UUID (its
/// `debug_id`); Breakpad as upper-case hex followed by the age `0`.
pub fn build_id_guid(build_id: &str) -> Option<uuid::Uuid> {
    if build_id.is_empty() || !build_id.len().is_multiple_of(2) {
        return None;
    }
    let bytes = (0..build_id.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(build_id.get(at..at + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    let mut guid = [0u8; 16];
    let len = bytes.len().min(16);
    guid[..len].copy_from_slice(&bytes[..len]);
    guid[0..4].reverse();
    guid[4..6].reverse();
    guid[6..8].reverse();
    Some(uuid::Uuid::from_bytes(guid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_snapshot_keeps_its_uuid_and_another_gets_another() {
        let snapshot = crate::pmodule::testdata::snapshot(42, Vec::new());
        let again = snapshot.clone();
        assert_eq!(snapshot_uuid(&snapshot), snapshot_uuid(&again));
        let mut later = snapshot.clone();
        later.timestamp += 1;
        assert_ne!(snapshot_uuid(&snapshot), snapshot_uuid(&later));
        assert_eq!(snapshot_uuid(&snapshot).get_version_num(), 5);
    }
}
