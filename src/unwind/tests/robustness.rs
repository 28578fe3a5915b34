//! Corrupt CFI and garbage stacks: errors where the CFI is malformed, and never a panic or an
//! endless walk, whatever the bytes.

use std::sync::Arc;

use object::{Object, ObjectSection};

use super::cfi_cases::{section_range, Cases, Stopped, Storage, BIAS, STACK};
use crate::arch::{RegisterSet, RA, SP};
use crate::memory::MemorySnapshot;
use crate::reader::SharedBytes;
use crate::unwind::{CfiMapping, ObjectCfi, StopReason, UnwindError, Unwinder, MAX_FRAMES};

/// A small deterministic pseudo-random generator (xorshift64*), so failures reproduce.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `bound` (> 0).
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

/// Functions of the cfi_cases fixture.
const FUNCTIONS: [&str; 10] = [
    "plain_leaf",
    "saves_rbx",
    "register_rules",
    "expressions",
    "cfa_not_increasing",
    "endless_expression",
    "signal_trampoline",
    "outermost",
    "interrupted_at_entry",
    "no_cfi",
];

#[test]
fn malformed_tables_are_reported_when_parsed() {
    // .eh_frame_hdr version 2 does not exist.
    let mut cases = Cases::build(Storage::EhFrameWithHeader);
    let header = section_range(&cases.bytes, ".eh_frame_hdr");
    cases.bytes[header.start] = 2;
    assert!(
        matches!(
            cases.parse(),
            Err(UnwindError::CorruptCfi {
                section: ".eh_frame_hdr",
                ..
            })
        ),
        "{:?}",
        cases.parse()
    );

    // A table claiming 2^31 entries in a few bytes (fde_count is the udata4 at offset 8).
    let mut cases = Cases::build(Storage::EhFrameWithHeader);
    let header = section_range(&cases.bytes, ".eh_frame_hdr");
    cases.bytes[header.start + 8..header.start + 12].copy_from_slice(&0x8000_0000u32.to_le_bytes());
    assert!(
        matches!(
            cases.parse(),
            Err(UnwindError::HeaderTableTooLarge {
                count: 0x8000_0000,
                ..
            })
        ),
        "{:?}",
        cases.parse()
    );

    // Without a header every FDE is read at parse time: a CIE of version 9 is an error. (The
    // CIE starts the section: length (4 bytes), CIE id (4), version (1).)
    for (storage, section) in [
        (Storage::EhFrameWithoutHeader, ".eh_frame"),
        (Storage::DebugFrame, ".debug_frame"),
    ] {
        let mut cases = Cases::build(storage);
        let range = section_range(&cases.bytes, section);
        cases.bytes[range.start + 8] = 9;
        assert!(
            matches!(cases.parse(), Err(UnwindError::CorruptCfi { section: s, .. }) if s == section),
            "{storage:?}: {:?}",
            cases.parse()
        );
    }
}

#[test]
fn a_malformed_entry_found_through_the_header_stops_that_frame_only() {
    // With .eh_frame_hdr, FDEs are read when used: the bad CIE shows when unwinding.
    let mut cases = Cases::build(Storage::EhFrameWithHeader);
    let range = section_range(&cases.bytes, ".eh_frame");
    cases.bytes[range.start + 8] = 9;
    let cfi = Arc::new(cases.parse().expect("the header is fine"));
    let state = Stopped::at(cases.at("saves_rbx", 1), 0x100);
    let backtrace = state.unwind(&cfi);
    assert_eq!(backtrace.frames.len(), 1);
    assert!(
        matches!(backtrace.stop, StopReason::Failed(UnwindError::CorruptCfi { .. })),
        "{:?}",
        backtrace.stop
    );
}

#[test]
fn random_corruption_of_cfi_never_panics() {
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    for storage in [
        Storage::EhFrameWithHeader,
        Storage::EhFrameWithoutHeader,
        Storage::DebugFrame,
    ] {
        let pristine = Cases::build(storage);
        let sections: Vec<_> = [".eh_frame_hdr", ".eh_frame", ".debug_frame"]
            .into_iter()
            .filter(|name| {
                object::File::parse(&pristine.bytes[..])
                    .ok()
                    .and_then(|f| f.section_by_name(name).and_then(|s| s.file_range()))
                    .is_some_and(|(_, size)| size > 0)
            })
            .map(|name| section_range(&pristine.bytes, name))
            .collect();
        let mut parsed = 0;
        for _ in 0..700 {
            let mut bytes = pristine.bytes.clone();
            for _ in 0..=random.below(6) {
                let range = &sections[random.below(sections.len() as u64) as usize];
                let at = range.start + random.below(range.len() as u64) as usize;
                bytes[at] = random.next() as u8;
            }
            let Ok(cfi) = ObjectCfi::parse(&SharedBytes::from_vec(bytes), None) else {
                continue;
            };
            parsed += 1;
            let cfi = Arc::new(cfi);
            for function in FUNCTIONS {
                let mut state = Stopped::at(pristine.at(function, random.below(3)), 0x100);
                for offset in (0..0x800).step_by(8) {
                    // Stack words: small numbers, stack addresses and code addresses.
                    let word = match random.below(3) {
                        0 => random.below(0x100),
                        1 => STACK + random.below(0x1000),
                        _ => BIAS + 0x1000 + random.below(0x40),
                    };
                    state.poke(STACK + offset, word);
                }
                let backtrace = state.unwind(&cfi);
                assert!(backtrace.frames.len() <= MAX_FRAMES);
            }
        }
        assert!(
            parsed > 50,
            "{storage:?}: corruption too heavy to test unwinding ({parsed})"
        );
    }
}

#[test]
fn garbage_stacks_over_libc_never_panic() {
    let path = "/lib/x86_64-linux-gnu/libc.so.6";
    let bytes = SharedBytes::map_file(std::path::Path::new(path)).expect("map libc");
    let file = object::File::parse(&bytes[..]).expect("parse libc");
    let text = file.section_by_name(".text").expect("libc has .text");
    let (text_start, text_size) = (text.address(), text.size());
    let cfi = Arc::new(ObjectCfi::parse(&bytes, None).expect("parse libc's CFI"));
    let bias = 0x7f00_0000_0000;
    let unwinder = Unwinder::new(vec![CfiMapping {
        range: bias + text_start..bias + text_start + text_size,
        bias,
        cfi,
    }]);
    let mut random = Random(0x0123_4567_89ab_cdef);
    for _ in 0..3000 {
        let mut regs = RegisterSet::new();
        for reg in 0..16 {
            regs.set(reg, Some(STACK + random.below(0x2000)));
        }
        regs.set(SP, Some(STACK + random.below(0x800) * 8));
        regs.set(RA, Some(bias + text_start + random.below(text_size)));
        let words: Vec<u64> = (0..0x400)
            .map(|_| match random.below(4) {
                0 => random.next(),
                1 => STACK + random.below(0x2000),
                2 => bias + text_start + random.below(text_size),
                _ => random.below(0x1000),
            })
            .collect();
        let stack = MemorySnapshot {
            base: STACK,
            bytes: words.iter().flat_map(|w| w.to_le_bytes()).collect(),
        };
        let backtrace = unwinder.unwind_with_stop(&regs, &stack, MAX_FRAMES);
        assert!(!backtrace.frames.is_empty());
        assert!(backtrace.frames.len() <= MAX_FRAMES);
    }
}

#[test]
fn random_corruption_of_libc_tables_never_panics() {
    // libc's .eh_frame is searched through .eh_frame_hdr: entries are read lazily, while
    // unwinding, so the corruption shows there.
    let path = std::path::Path::new("/lib/x86_64-linux-gnu/libc.so.6");
    let pristine = std::fs::read(path).expect("read libc");
    let sections = [
        section_range(&pristine, ".eh_frame_hdr"),
        section_range(&pristine, ".eh_frame"),
    ];
    let file = object::File::parse(&pristine[..]).expect("parse libc");
    let text = file.section_by_name(".text").expect("libc has .text");
    let (text_start, text_size) = (text.address(), text.size());
    let mut random = Random(0x5151_2020_abab_0101);
    for _ in 0..60 {
        let mut bytes = pristine.clone();
        for _ in 0..200 {
            let range = &sections[random.below(2) as usize];
            let at = range.start + random.below(range.len() as u64) as usize;
            bytes[at] = random.next() as u8;
        }
        let Ok(cfi) = ObjectCfi::parse(&SharedBytes::from_vec(bytes), None) else {
            continue;
        };
        let unwinder = Unwinder::new(vec![CfiMapping {
            range: BIAS + text_start..BIAS + text_start + text_size,
            bias: BIAS,
            cfi: Arc::new(cfi),
        }]);
        for _ in 0..200 {
            let mut state = Stopped::at(BIAS + text_start + random.below(text_size), 0x100);
            for offset in (0..0x800).step_by(8) {
                let word = match random.below(3) {
                    0 => random.below(0x100),
                    1 => STACK + random.below(0x1000),
                    _ => BIAS + text_start + random.below(text_size),
                };
                state.poke(STACK + offset, word);
            }
            let backtrace = unwinder.unwind_with_stop(&state.regs, &state.stack, MAX_FRAMES);
            assert!(!backtrace.frames.is_empty());
        }
    }
}
