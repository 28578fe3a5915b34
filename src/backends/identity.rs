//! The identity of a snapshot at a backend: a UUID derived from what makes the snapshot itself
//! (process, executable, time, fault), so that submitting the same saved snapshot again gives the
//! same event id, which backends take as the same event.

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
