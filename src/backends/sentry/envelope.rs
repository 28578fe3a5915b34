//! A Sentry envelope holding one event: a header line (event id, DSN), an item header line (type
//! and length), the event.

use super::Dsn;

/// The envelope of `event` (its JSON text) whose id is `event_id` (32 hex digits), for `dsn`.
pub fn envelope(event: &serde_json::Value, event_id: &str, dsn: &Dsn) -> Vec<u8> {
    let payload = event.to_string();
    let header = serde_json::json!({
        "event_id": event_id,
        "dsn": dsn.text(),
    });
    let item = serde_json::json!({
        "type": "event",
        "content_type": "application/json",
        "length": payload.len(),
    });
    let mut out = Vec::with_capacity(payload.len() + 256);
    for line in [header.to_string(), item.to_string(), payload] {
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_lines_the_item_length_that_of_the_event() {
        let dsn = Dsn::parse("http://key@127.0.0.1:9/3").expect("a DSN");
        let event = serde_json::json!({"message": "é\nnewline inside"});
        let bytes = envelope(&event, "00112233445566778899aabbccddeeff", &dsn);
        let text = String::from_utf8(bytes).expect("UTF-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        let header: serde_json::Value = serde_json::from_str(lines[0]).expect("JSON");
        assert_eq!(header["event_id"], "00112233445566778899aabbccddeeff");
        assert_eq!(header["dsn"], "http://key@127.0.0.1:9/3");
        let item: serde_json::Value = serde_json::from_str(lines[1]).expect("JSON");
        assert_eq!(item["type"], "event");
        assert_eq!(item["length"].as_u64(), Some(lines[2].len() as u64));
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(lines[2]).expect("JSON"),
            event
        );
    }
}
