//! The vDSO has no file: the session copies its image from memory. Its CFI must parse from
//! such a copy, and its functions must unwind.

use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use object::{Object, ObjectSymbol};

use super::fixture::parse_maps;
use super::objects::load_bias;
use crate::arch::{RegisterSet, RA, SP};
use crate::memory::MemorySnapshot;
use crate::reader::SharedBytes;
use crate::unwind::{CfiMapping, ObjectCfi, StopReason, Unwinder, MAX_FRAMES};

#[test]
fn the_vdso_copied_from_memory_unwinds() {
    let maps = std::fs::read_to_string("/proc/self/maps").expect("read maps");
    let line = maps
        .lines()
        .find(|l| l.ends_with("[vdso]"))
        .expect("this process has a vDSO");
    let entry = parse_maps(line).pop().expect("the [vdso] line parses");
    let mut image = vec![0u8; (entry.end - entry.start) as usize];
    let mut mem = std::fs::File::open("/proc/self/mem").expect("open /proc/self/mem");
    mem.seek(SeekFrom::Start(entry.start)).expect("seek to the vDSO");
    mem.read_exact(&mut image).expect("read the vDSO image");

    let cfi = Arc::new(ObjectCfi::parse(&SharedBytes::from_vec(image.clone()), None).expect("parse"));
    assert!(!cfi.is_empty(), "the vDSO has CFI");
    let bias = load_bias(&image, &entry).expect("the vDSO has a PT_LOAD segment");
    let file = object::File::parse(&image[..]).expect("the vDSO is an ELF image");
    let function = file
        .dynamic_symbols()
        .find(|s| s.name() == Ok("__vdso_clock_gettime"))
        .expect("the vDSO exports __vdso_clock_gettime");
    let unwinder = Unwinder::new(vec![CfiMapping {
        range: entry.start..entry.end,
        bias,
        cfi,
    }]);

    // Stopped on the first instruction: CFA = rsp + 8, the return address at [rsp].
    let stack = MemorySnapshot {
        base: 0x7000,
        bytes: [0x4242u64, 0].iter().flat_map(|w| w.to_le_bytes()).collect(),
    };
    let mut regs = RegisterSet::new();
    regs.set(RA, Some(bias + function.address()));
    regs.set(SP, Some(0x7000));
    let backtrace = unwinder.unwind_with_stop(&regs, &stack, MAX_FRAMES);
    assert_eq!(backtrace.frames[0].cfa, Some(0x7008), "{:?}", backtrace.stop);
    assert_eq!(backtrace.frames.get(1).map(|f| f.pc), Some(0x4242));
    assert!(
        matches!(backtrace.stop, StopReason::NoUnwindInfo),
        "{:?}",
        backtrace.stop
    );
}
