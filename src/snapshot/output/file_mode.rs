//! [`FileMode`]: the permission bits given to the snapshot files ptrace creates.

use std::fmt;
use std::str::FromStr;

/// The permission bits of a snapshot file, set exactly (the umask does not apply). Owner-only
/// (`0600`) by default: a snapshot holds the target's memory, passwords and keys included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileMode(u32);

impl FileMode {
    /// `0600`: read and write for the owner only, as the kernel writes core files.
    pub const OWNER_ONLY: FileMode = FileMode(0o600);

    /// The permission bits (at most `0o777`).
    pub fn bits(self) -> u32 {
        self.0
    }
}

impl Default for FileMode {
    fn default() -> Self {
        Self::OWNER_ONLY
    }
}

impl fmt::Display for FileMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04o}", self.0)
    }
}

/// Why a text is not a [`FileMode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileModeError {
    /// Not 1 to 4 octal digits.
    #[error("'{0}' is not an octal mode such as 600 or 0644")]
    NotOctal(String),
    /// Setuid, setgid or sticky bits asked for.
    #[error("'{0}' sets setuid, setgid or sticky bits, which a snapshot file never has")]
    SpecialBits(String),
}

impl FromStr for FileMode {
    type Err = FileModeError;

    /// Octal digits, as `chmod` takes them: `600`, `0644`; `0o640` is accepted too.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let digits = text.strip_prefix("0o").unwrap_or(text);
        if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
            return Err(FileModeError::NotOctal(text.to_string()));
        }
        let bits = u32::from_str_radix(digits, 8).map_err(|_| FileModeError::NotOctal(text.to_string()))?;
        if bits > 0o777 {
            return Err(FileModeError::SpecialBits(text.to_string()));
        }
        Ok(FileMode(bits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octal_modes_parse_as_chmod_takes_them() {
        assert_eq!("600".parse::<FileMode>().unwrap().bits(), 0o600);
        assert_eq!("0644".parse::<FileMode>().unwrap().bits(), 0o644);
        assert_eq!("0o640".parse::<FileMode>().unwrap().bits(), 0o640);
        assert_eq!("0".parse::<FileMode>().unwrap().bits(), 0);
        assert_eq!(FileMode::default().to_string(), "0600");
    }

    #[test]
    fn anything_else_is_refused() {
        for text in ["", "abc", "8", "0o", "644 ", "-644", "00644"] {
            assert!(
                matches!(text.parse::<FileMode>(), Err(FileModeError::NotOctal(_))),
                "{text:?}"
            );
        }
        for text in ["4755", "1777", "2600"] {
            assert!(
                matches!(text.parse::<FileMode>(), Err(FileModeError::SpecialBits(_))),
                "{text:?}"
            );
        }
    }
}
