//! Numbers as the snapshot writes them: integers as JSON numbers when they fit 53 bits (else
//! decimal strings), floats as numbers (NaN and infinities as strings), and the decoding of
//! x87 extended and IEEE binary128 floats.

use serde_json::Value;

/// The largest magnitude a JSON number holds exactly in every reader (2^53 - 1).
pub const MAX_SAFE_INTEGER: i128 = (1 << 53) - 1;

/// An integer: a JSON number when `|value| <= 2^53 - 1`, else its decimal string.
pub fn integer(value: i128) -> Value {
    if (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&value) {
        // In range, so it fits i64 exactly.
        Value::from(value as i64)
    } else {
        Value::String(value.to_string())
    }
}

/// A float: a JSON number, or `"nan"`, `"inf"`, `"-inf"`.
pub fn float(value: f64) -> Value {
    if value.is_nan() {
        Value::String("nan".into())
    } else if value.is_infinite() {
        Value::String(if value > 0.0 { "inf" } else { "-inf" }.into())
    } else {
        serde_json::Number::from_f64(value)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

/// An address: a `0x...` hex string.
pub fn address(value: u64) -> Value {
    Value::String(format!("{value:#x}"))
}

/// `mantissa * 2^exponent` without overflowing or underflowing the intermediate power.
fn scale(mantissa: f64, exponent: i32) -> f64 {
    let half = exponent / 2;
    mantissa * 2f64.powi(half) * 2f64.powi(exponent - half)
}

/// An x87 80-bit extended float (the first 10 bytes of `bytes`, little endian) as the nearest
/// f64. `None` when fewer than 10 bytes are given.
pub fn x87_extended(bytes: &[u8]) -> Option<f64> {
    let mantissa = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
    let top = u16::from_le_bytes(bytes.get(8..10)?.try_into().ok()?);
    let negative = top & 0x8000 != 0;
    let exponent = i32::from(top & 0x7fff);
    let magnitude = if exponent == 0x7fff {
        if mantissa << 1 == 0 {
            f64::INFINITY
        } else {
            f64::NAN
        }
    } else {
        // The integer bit is explicit: value = mantissa / 2^63 * 2^(exponent - 16383); a zero
        // exponent is a denormal with exponent -16382.
        let exponent = if exponent == 0 { -16382 } else { exponent - 16383 };
        scale(mantissa as f64 / 2f64.powi(63), exponent)
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// An IEEE binary128 float (`_Float128`, 16 bytes little endian) as the nearest f64.
pub fn binary128(bytes: &[u8]) -> Option<f64> {
    let bits = u128::from_le_bytes(bytes.get(..16)?.try_into().ok()?);
    let negative = bits >> 127 != 0;
    let exponent = ((bits >> 112) & 0x7fff) as i32;
    let fraction = bits & ((1u128 << 112) - 1);
    let magnitude = if exponent == 0x7fff {
        if fraction == 0 {
            f64::INFINITY
        } else {
            f64::NAN
        }
    } else {
        let fraction = (fraction >> 48) as f64 / 2f64.powi(64);
        if exponent == 0 {
            scale(fraction, -16382)
        } else {
            scale(1.0 + fraction, exponent - 16383)
        }
    };
    Some(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_follow_the_53_bit_rule() {
        assert_eq!(integer(42), Value::from(42));
        assert_eq!(integer(-5), Value::from(-5));
        assert_eq!(integer(MAX_SAFE_INTEGER), Value::from(9007199254740991i64));
        assert_eq!(integer(-MAX_SAFE_INTEGER), Value::from(-9007199254740991i64));
        assert_eq!(integer(MAX_SAFE_INTEGER + 1), Value::from("9007199254740992"));
        assert_eq!(integer(-MAX_SAFE_INTEGER - 1), Value::from("-9007199254740992"));
        assert_eq!(integer(u64::MAX as i128), Value::from("18446744073709551615"));
        assert_eq!(integer(i64::MIN as i128), Value::from("-9223372036854775808"));
    }

    #[test]
    fn floats_are_numbers_or_named() {
        assert_eq!(float(2.5), Value::from(2.5));
        assert_eq!(float(f64::NAN), Value::from("nan"));
        assert_eq!(float(f64::INFINITY), Value::from("inf"));
        assert_eq!(float(f64::NEG_INFINITY), Value::from("-inf"));
        assert_eq!(float(-0.0), Value::from(-0.0));
    }

    #[test]
    fn x87_values_decode() {
        // 1.0: mantissa 0x8000000000000000, exponent 16383.
        let mut one = 0x8000_0000_0000_0000u64.to_le_bytes().to_vec();
        one.extend_from_slice(&16383u16.to_le_bytes());
        assert_eq!(x87_extended(&one), Some(1.0));
        // -2.5 = -(1.25 * 2^1).
        let mut v = 0xa000_0000_0000_0000u64.to_le_bytes().to_vec();
        v.extend_from_slice(&(0x8000u16 | 16384).to_le_bytes());
        assert_eq!(x87_extended(&v), Some(-2.5));
        let mut inf = 0x8000_0000_0000_0000u64.to_le_bytes().to_vec();
        inf.extend_from_slice(&0x7fffu16.to_le_bytes());
        assert_eq!(x87_extended(&inf), Some(f64::INFINITY));
        let mut nan = 0xc000_0000_0000_0000u64.to_le_bytes().to_vec();
        nan.extend_from_slice(&0x7fffu16.to_le_bytes());
        assert!(x87_extended(&nan).unwrap().is_nan());
        // Too large for f64: infinity; the smallest normal double survives.
        let mut huge = 0x8000_0000_0000_0000u64.to_le_bytes().to_vec();
        huge.extend_from_slice(&(16383u16 + 2000).to_le_bytes());
        assert_eq!(x87_extended(&huge), Some(f64::INFINITY));
        let mut tiny = 0x8000_0000_0000_0000u64.to_le_bytes().to_vec();
        tiny.extend_from_slice(&(16383u16 - 1022).to_le_bytes());
        assert_eq!(x87_extended(&tiny), Some(f64::MIN_POSITIVE));
        assert_eq!(x87_extended(&[0; 9]), None);
    }

    #[test]
    fn binary128_values_decode() {
        // 1.5: exponent 16383, fraction top bit set.
        let bits: u128 = (16383u128 << 112) | (1u128 << 111);
        assert_eq!(binary128(&bits.to_le_bytes()), Some(1.5));
        let negative: u128 = (1u128 << 127) | (16384u128 << 112);
        assert_eq!(binary128(&negative.to_le_bytes()), Some(-2.0));
        let inf: u128 = 0x7fffu128 << 112;
        assert_eq!(binary128(&inf.to_le_bytes()), Some(f64::INFINITY));
    }
}
