//! MiniDebugInfo: the `.gnu_debugdata` section that Fedora, RHEL and CentOS leave in their fully
//! stripped binaries, an xz-compressed ELF file holding a `.symtab` of the functions that
//! `.dynsym` does not name (static functions, mostly), at the object's own link-time addresses.
//!
//! This module only finds the section and decompresses it, bounded, into an ELF image checked
//! to parse; the image's symbols are then read by the one symbol reader
//! ([`SymbolTable`](super::SymbolTable)) like any other image's.

use std::io::Read as _;

use object::{Object as _, ObjectSection as _};

use super::elf::{parse_elf, ElfFile};

/// The section holding the compressed ELF file.
pub(crate) const SECTION: &str = ".gnu_debugdata";

/// The most bytes a `.gnu_debugdata` may decompress to, whatever its size. The embedded file is
/// a symbol table and string table (section headers aside, everything else is `NOBITS`): tens
/// of KiB for a program, a few MiB for the largest libraries.
pub const MAX_DECOMPRESSED: usize = 64 << 20;

/// How many times its compressed size a `.gnu_debugdata` may decompress to (below
/// [`MAX_DECOMPRESSED`]). Symbol and string tables compress 3–6 times with xz's presets; a
/// bomb (long runs of one byte) compresses thousands of times.
pub const MAX_RATIO: usize = 64;

/// The least bytes any `.gnu_debugdata` may decompress to, however small: a tiny section's xz
/// framing weighs as much as its data, so the ratio alone would refuse honest ones.
const MIN_ALLOWED: usize = 1 << 20;

/// The most memory (KiB) the xz decoder may take for its dictionary: enough for every preset of
/// `xz` (`-9` takes 65 MiB), so that a header claiming gigabytes is refused before any is
/// allocated.
const DICTIONARY_LIMIT_KIB: u32 = 72 << 10;

/// Why an object's `.gnu_debugdata` gives no symbols.
#[derive(Debug, thiserror::Error)]
pub enum MiniDebugInfoError {
    /// The section's bytes cannot be read from the object (it claims bytes past the file's end).
    #[error("its bytes cannot be read: {0}")]
    Unreadable(String),
    /// The xz stream is corrupt, truncated, fails its check (CRC32, CRC64, SHA-256) or needs
    /// more memory than allowed.
    #[error("not a valid xz stream: {0}")]
    Xz(#[source] std::io::Error),
    /// The stream decompresses to more than allowed: a compression bomb, or not MiniDebugInfo.
    #[error("decompresses to more than {limit} bytes (from {compressed})")]
    TooLarge {
        /// The most bytes it was allowed to give.
        limit: usize,
        /// The compressed size.
        compressed: usize,
    },
    /// What it decompresses to is not a usable ELF file.
    #[error("its contents are not an ELF file: {0}")]
    NotElf(String),
}

/// The compressed bytes of the `.gnu_debugdata` section of the ELF image `elf`; `Ok(None)` when
/// it has none (or is not ELF: that is said elsewhere).
pub(crate) fn section(elf: &[u8]) -> Result<Option<&[u8]>, MiniDebugInfoError> {
    let Ok(file) = parse_elf(elf, "object") else {
        return Ok(None);
    };
    let Some(section) = file.section_by_name(SECTION) else {
        return Ok(None);
    };
    section
        .data()
        .map(Some)
        .map_err(|e| MiniDebugInfoError::Unreadable(e.to_string()))
}

/// The most bytes `compressed` bytes of `.gnu_debugdata` may decompress to:
/// [`MAX_RATIO`] times their size, at least 1 MiB, at most [`MAX_DECOMPRESSED`].
pub fn decompressed_limit(compressed: usize) -> usize {
    compressed
        .saturating_mul(MAX_RATIO)
        .clamp(MIN_ALLOWED, MAX_DECOMPRESSED)
}

/// Decompresses the contents of a `.gnu_debugdata` section (an xz stream, its integrity check
/// verified) into the ELF image it holds, refusing more than [`decompressed_limit`] bytes.
pub fn decompress(compressed: &[u8]) -> Result<Vec<u8>, MiniDebugInfoError> {
    let limit = decompressed_limit(compressed.len());
    let reader = lzma_rust2::XzReader::new_mem_limit(compressed, true, DICTIONARY_LIMIT_KIB);
    let mut image = Vec::new();
    // One byte past the limit tells a stream that reaches it from one that exceeds it.
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut image)
        .map_err(MiniDebugInfoError::Xz)?;
    if image.len() > limit {
        return Err(MiniDebugInfoError::TooLarge {
            limit,
            compressed: compressed.len(),
        });
    }
    ElfFile::parse(image.as_slice()).map_err(|e| MiniDebugInfoError::NotElf(e.to_string()))?;
    Ok(image)
}

/// The ELF image embedded in `elf`'s `.gnu_debugdata`: `Ok(None)` without one, the reason it is
/// unusable otherwise.
pub fn embedded_image(elf: &[u8]) -> Result<Option<Vec<u8>>, MiniDebugInfoError> {
    match section(elf)? {
        Some(compressed) => decompress(compressed).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `bytes` compressed by `xz` itself (its default CRC64 check), as MiniDebugInfo is made.
    fn xz(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write as _;
        use std::process::{Command, Stdio};
        let mut child = Command::new("xz")
            .args(["-c", "-6"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run xz (scripts/install-test-tools.sh installs it)");
        let mut stdin = child.stdin.take().expect("xz stdin");
        let input = bytes.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let output = child.wait_with_output().expect("xz output");
        writer.join().expect("writer thread").expect("feed xz");
        assert!(output.status.success(), "xz failed");
        output.stdout
    }

    fn own_binary() -> Vec<u8> {
        std::fs::read(std::env::current_exe().expect("test binary")).expect("read test binary")
    }

    /// The smallest ELF file that parses: a 64-bit x86-64 header, no sections, no segments.
    fn small_elf() -> Vec<u8> {
        let mut header = vec![0u8; 64];
        header[..4].copy_from_slice(b"\x7fELF");
        header[4] = 2; // ELFCLASS64
        header[5] = 1; // little endian
        header[6] = 1; // EV_CURRENT
        header[16] = 3; // ET_DYN
        header[18] = 62; // EM_X86_64
        header[20] = 1; // e_version
        header[52] = 64; // e_ehsize
        header
    }

    #[test]
    fn an_elf_image_round_trips() {
        let small = small_elf();
        assert_eq!(decompress(&xz(&small)).expect("decompresses"), small);
    }

    #[test]
    fn corrupt_sections_are_errors_not_panics() {
        let good = xz(&small_elf());
        assert!(decompress(&good).is_ok());
        // Truncated anywhere.
        for len in [0, 1, 6, 12, good.len() / 2, good.len() - 1] {
            assert!(
                matches!(decompress(&good[..len]), Err(MiniDebugInfoError::Xz(_))),
                "truncated to {len}"
            );
        }
        // A bad check: flip a bit of the block's CRC64, the 8 bytes before the index (8 bytes
        // for one small block) and the stream footer (12).
        let mut bad_check = good.clone();
        let crc_at = bad_check.len() - 12 - 8 - 8;
        bad_check[crc_at] ^= 1;
        let error = decompress(&bad_check).expect_err("bad CRC64");
        assert!(
            matches!(&error, MiniDebugInfoError::Xz(e) if e.to_string().contains("checksum")),
            "{error}"
        );
        // A bit flipped in the compressed data: refused too (by the decoder or the check).
        let mut bad_data = good.clone();
        bad_data[30] ^= 0x10;
        assert!(matches!(decompress(&bad_data), Err(MiniDebugInfoError::Xz(_))));
        // Not xz at all.
        assert!(matches!(
            decompress(b"\x7fELF plain"),
            Err(MiniDebugInfoError::Xz(_))
        ));
        // Valid xz of something that is not ELF.
        let error = decompress(&xz(b"hello, not an ELF file")).expect_err("non-ELF");
        assert!(matches!(error, MiniDebugInfoError::NotElf(_)), "{error}");
    }

    #[test]
    fn a_bomb_is_refused_at_the_limit() {
        let bomb = xz(&vec![0u8; MIN_ALLOWED * 4]);
        assert!(bomb.len() * MAX_RATIO < MIN_ALLOWED, "the bomb is small");
        let error = decompress(&bomb).expect_err("bomb");
        assert!(
            matches!(error, MiniDebugInfoError::TooLarge { limit, .. } if limit == MIN_ALLOWED),
            "{error}"
        );
        // Exactly the limit is allowed through the bound (then refused as not ELF).
        let at_limit = xz(&vec![0u8; MIN_ALLOWED]);
        assert!(matches!(
            decompress(&at_limit),
            Err(MiniDebugInfoError::NotElf(_))
        ));
    }

    #[test]
    fn the_limit_scales_with_the_section_and_is_capped() {
        assert_eq!(decompressed_limit(0), MIN_ALLOWED);
        assert_eq!(decompressed_limit(100 << 10), 100 << 10 << 6);
        assert_eq!(decompressed_limit(10 << 20), MAX_DECOMPRESSED);
        assert_eq!(decompressed_limit(usize::MAX), MAX_DECOMPRESSED);
    }

    #[test]
    fn objects_without_the_section_have_no_image() {
        assert!(matches!(embedded_image(&own_binary()), Ok(None)));
        assert!(matches!(embedded_image(b"junk"), Ok(None)));
    }
}
