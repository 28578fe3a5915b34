//! The notes of a core: threads (`NT_PRSTATUS` and the register sets that follow it), the
//! process (`NT_PRPSINFO`), the signal (`NT_SIGINFO`), the auxiliary vector (`NT_AUXV`) and the
//! mapped files (`NT_FILE`). Layouts are those of the x86-64 Linux kernel's `elf_prstatus`,
//! `elf_prpsinfo` and `siginfo_t`.

use object::elf;

use super::file::NoteSegment;
use super::CoreError;

/// Offset of `pr_pid` in `elf_prstatus`: after `pr_info` (3 ints), `pr_cursig` (short, padded
/// to 4), `pr_sigpend` and `pr_sighold` (unsigned longs).
const PRSTATUS_PID: usize = 32;
/// Offset of `pr_cursig` in `elf_prstatus`.
const PRSTATUS_CURSIG: usize = 12;
/// Offset of `pr_reg` in `elf_prstatus`: `pr_pid`, `pr_ppid`, `pr_pgrp`, `pr_sid` (4 ints),
/// then four `struct timeval` (16 bytes each).
const PRSTATUS_REG: usize = PRSTATUS_PID + 4 * 4 + 4 * 16;
/// Size of `elf_gregset_t` on x86-64: the 27 registers of `user_regs_struct`.
const GREGSET_SIZE: usize = std::mem::size_of::<libc::user_regs_struct>();

/// Offset of `pr_pid` in `elf_prpsinfo`: 4 chars, padding, `pr_flag` (unsigned long), `pr_uid`
/// and `pr_gid` (unsigned ints).
const PRPSINFO_PID: usize = 24;
/// Offset of `pr_fname` (16 chars) in `elf_prpsinfo`: after `pr_pid`, `pr_ppid`, `pr_pgrp`,
/// `pr_sid`.
const PRPSINFO_FNAME: usize = PRPSINFO_PID + 4 * 4;
/// Length of `pr_fname`.
const FNAME_LEN: usize = 16;
/// Offset of `pr_psargs` (80 chars) in `elf_prpsinfo`.
const PRPSINFO_PSARGS: usize = PRPSINFO_FNAME + FNAME_LEN;
/// Length of `pr_psargs`.
const PSARGS_LEN: usize = 80;

/// Offset of the union of `siginfo_t` (after `si_signo`, `si_errno`, `si_code` and padding),
/// where `si_addr` sits for the fault signals.
const SIGINFO_FIELDS: usize = 16;

/// `AT_NULL`, the end of the auxiliary vector.
const AT_NULL: u64 = 0;
/// `AT_PHDR`: address of the executable's program headers.
pub const AT_PHDR: u64 = 3;
/// `AT_PHNUM`: how many program headers the executable has.
pub const AT_PHNUM: u64 = 5;
/// `AT_BASE`: load address of the dynamic loader.
pub const AT_BASE: u64 = 7;
/// `AT_ENTRY`: the executable's entry point.
pub const AT_ENTRY: u64 = 9;
/// `AT_EXECFN`: address of the executed file name (a string on the initial stack).
pub const AT_EXECFN: u64 = 31;
/// Auxiliary vector key: the address of the vDSO's ELF header.
pub const AT_SYSINFO_EHDR: u64 = 33;

/// One thread of the core: its `NT_PRSTATUS` and the register sets written after it.
#[derive(Clone)]
pub struct CoreThread {
    /// The thread's id (`pr_pid`).
    pub tid: i32,
    /// The signal the thread was stopped with (`pr_cursig`; 0 for none).
    pub signal: i32,
    /// The general registers (`pr_reg`: `elf_gregset_t`, the layout of `user_regs_struct`).
    pub registers: libc::user_regs_struct,
    /// The 512-byte FXSAVE area (`NT_FPREGSET`), when the core has it.
    pub fpregs: Option<Vec<u8>>,
    /// The XSAVE area (`NT_X86_XSTATE`), when the core has it.
    pub xstate: Option<Vec<u8>>,
    /// The thread's `NT_SIGINFO`, when one follows its `NT_PRSTATUS`.
    pub siginfo: Option<SigInfo>,
}

impl std::fmt::Debug for CoreThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoreThread")
            .field("tid", &self.tid)
            .field("signal", &self.signal)
            .field("rip", &format_args!("{:#x}", self.registers.rip))
            .field("rsp", &format_args!("{:#x}", self.registers.rsp))
            .field("fpregs", &self.fpregs.as_ref().map(Vec::len))
            .field("xstate", &self.xstate.as_ref().map(Vec::len))
            .field("siginfo", &self.siginfo)
            .finish()
    }
}

/// The process of the core (`NT_PRPSINFO`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessInfo {
    /// The process id.
    pub pid: i32,
    /// The command name (`pr_fname`, at most 15 bytes, as in `/proc/PID/comm`).
    pub name: String,
    /// The first 80 bytes of the command line, arguments separated by spaces (`pr_psargs`).
    pub args: String,
}

/// A signal's information (`NT_SIGINFO`, a `siginfo_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigInfo {
    /// The signal number.
    pub signo: i32,
    /// `si_errno`.
    pub errno: i32,
    /// `si_code`: why the signal was sent (e.g. `SEGV_MAPERR`; negative when sent by a process).
    pub code: i32,
    /// The first word of the union: `si_addr` for the fault signals.
    pub address: u64,
}

impl SigInfo {
    /// The signal as a fault of thread `tid`: its name, why, and the faulting address when the
    /// kernel raised it for an access (decoded as for a live process's signal).
    pub fn fault(&self, tid: i32) -> crate::tracer::Fault {
        crate::tracer::Fault::decode(tid, self.signo, self.code, self.address)
    }
}

/// The auxiliary vector (`NT_AUXV`): `(type, value)` pairs, up to `AT_NULL`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Auxv {
    /// The pairs in their order.
    pub entries: Vec<(u64, u64)>,
}

impl Auxv {
    /// The value of the first entry of type `key` (e.g. [`AT_ENTRY`]).
    pub fn get(&self, key: u64) -> Option<u64> {
        self.entries.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

/// One file mapping of `NT_FILE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileMapping {
    /// First address of the mapping.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// Offset in the file of `start`, in bytes (the note's page count × its page size).
    pub offset: u64,
    /// The mapped file's path, as the kernel printed it (maybe with `" (deleted)"`).
    pub path: String,
}

impl FileMapping {
    /// Whether `address` lies inside the mapping.
    pub fn contains(&self, address: u64) -> bool {
        (self.start..self.end).contains(&address)
    }
}

/// Everything the notes of a core say.
#[derive(Clone, Debug, Default)]
pub(crate) struct CoreNotes {
    /// The threads, in note order (the kernel writes the dumping thread first).
    pub threads: Vec<CoreThread>,
    /// `NT_PRPSINFO`.
    pub process: Option<ProcessInfo>,
    /// The first `NT_SIGINFO`.
    pub siginfo: Option<SigInfo>,
    /// `NT_AUXV`.
    pub auxv: Auxv,
    /// `NT_FILE`, sorted by address.
    pub files: Vec<FileMapping>,
}

/// A little-endian reader of fixed-offset fields in a note's descriptor.
struct Desc<'a> {
    bytes: &'a [u8],
    note: &'static str,
}

impl Desc<'_> {
    /// The `N` bytes at `at`, or an error naming the note when it is too short.
    fn array<const N: usize>(&self, at: usize) -> Result<[u8; N], CoreError> {
        self.bytes
            .get(at..at.saturating_add(N))
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| {
                CoreError::Malformed(format!(
                    "{} note of {} bytes, too short for a field at offset {at}",
                    self.note,
                    self.bytes.len()
                ))
            })
    }

    fn u64(&self, at: usize) -> Result<u64, CoreError> {
        self.array::<8>(at).map(u64::from_le_bytes)
    }

    fn i32(&self, at: usize) -> Result<i32, CoreError> {
        self.array::<4>(at).map(i32::from_le_bytes)
    }

    fn i16(&self, at: usize) -> Result<i16, CoreError> {
        self.array::<2>(at).map(i16::from_le_bytes)
    }

    /// A NUL-terminated string in a fixed field of `len` bytes at `at`.
    fn text(&self, at: usize, len: usize) -> Result<String, CoreError> {
        let field = self.bytes.get(at..at.saturating_add(len)).ok_or_else(|| {
            CoreError::Malformed(format!(
                "{} note of {} bytes, too short for its text",
                self.note,
                self.bytes.len()
            ))
        })?;
        let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
        Ok(String::from_utf8_lossy(&field[..end]).into_owned())
    }
}

/// Reads every note of the core's note segments.
pub(crate) fn parse_notes(data: &[u8], segments: &[NoteSegment]) -> Result<CoreNotes, CoreError> {
    let endian = object::Endianness::Little;
    let mut notes = CoreNotes::default();
    for segment in segments {
        let bytes = data
            .get(segment.offset..segment.offset.saturating_add(segment.size))
            .ok_or(CoreError::Truncated {
                what: "a note segment",
                needed: (segment.offset as u64).saturating_add(segment.size as u64),
                size: data.len() as u64,
            })?;
        let mut iter = object::read::elf::NoteIterator::<elf::FileHeader64<object::Endianness>>::new(
            endian,
            segment.align,
            bytes,
        )
        .map_err(|e| CoreError::Malformed(format!("note segment: {e}")))?;
        loop {
            let note = match iter.next() {
                Ok(Some(note)) => note,
                Ok(None) => break,
                Err(e) => return Err(CoreError::Malformed(format!("note: {e}"))),
            };
            if note.name() != b"CORE" && note.name() != b"LINUX" {
                continue;
            }
            add_note(&mut notes, note.n_type(endian), note.desc())?;
        }
    }
    notes.files.sort_by_key(|f| f.start);
    Ok(notes)
}

/// Adds one core note to `notes`.
fn add_note(notes: &mut CoreNotes, kind: elf::NoteType, desc: &[u8]) -> Result<(), CoreError> {
    if kind == elf::NT_PRSTATUS {
        notes.threads.push(parse_prstatus(desc)?);
    } else if kind == elf::NT_FPREGSET {
        if let Some(thread) = notes.threads.last_mut() {
            thread.fpregs = Some(desc.to_vec());
        }
    } else if kind == elf::NT_X86_XSTATE {
        if let Some(thread) = notes.threads.last_mut() {
            thread.xstate = Some(desc.to_vec());
        }
    } else if kind == elf::NT_PRPSINFO {
        notes.process = Some(parse_prpsinfo(desc)?);
    } else if kind == elf::NT_SIGINFO {
        let info = parse_siginfo(desc)?;
        notes.siginfo.get_or_insert(info);
        if let Some(thread) = notes.threads.last_mut() {
            thread.siginfo.get_or_insert(info);
        }
    } else if kind == elf::NT_AUXV {
        notes.auxv = parse_auxv(desc);
    } else if kind == elf::NT_FILE {
        notes.files = parse_file_note(desc)?;
    }
    Ok(())
}

/// Parses an `elf_prstatus`.
fn parse_prstatus(bytes: &[u8]) -> Result<CoreThread, CoreError> {
    let desc = Desc {
        bytes,
        note: "NT_PRSTATUS",
    };
    let r = |i: usize| desc.u64(PRSTATUS_REG + 8 * i);
    // The order of user_regs_struct (arch/x86/include/asm/user_64.h).
    let registers = libc::user_regs_struct {
        r15: r(0)?,
        r14: r(1)?,
        r13: r(2)?,
        r12: r(3)?,
        rbp: r(4)?,
        rbx: r(5)?,
        r11: r(6)?,
        r10: r(7)?,
        r9: r(8)?,
        r8: r(9)?,
        rax: r(10)?,
        rcx: r(11)?,
        rdx: r(12)?,
        rsi: r(13)?,
        rdi: r(14)?,
        orig_rax: r(15)?,
        rip: r(16)?,
        cs: r(17)?,
        eflags: r(18)?,
        rsp: r(19)?,
        ss: r(20)?,
        fs_base: r(21)?,
        gs_base: r(22)?,
        ds: r(23)?,
        es: r(24)?,
        fs: r(25)?,
        gs: r(26)?,
    };
    debug_assert_eq!(GREGSET_SIZE, 27 * 8);
    Ok(CoreThread {
        tid: desc.i32(PRSTATUS_PID)?,
        signal: i32::from(desc.i16(PRSTATUS_CURSIG)?),
        registers,
        fpregs: None,
        xstate: None,
        siginfo: None,
    })
}

/// Parses an `elf_prpsinfo`.
fn parse_prpsinfo(bytes: &[u8]) -> Result<ProcessInfo, CoreError> {
    let desc = Desc {
        bytes,
        note: "NT_PRPSINFO",
    };
    Ok(ProcessInfo {
        pid: desc.i32(PRPSINFO_PID)?,
        name: desc.text(PRPSINFO_FNAME, FNAME_LEN)?,
        args: desc.text(PRPSINFO_PSARGS, PSARGS_LEN)?.trim_end().to_string(),
    })
}

/// Parses a `siginfo_t`.
fn parse_siginfo(bytes: &[u8]) -> Result<SigInfo, CoreError> {
    let desc = Desc {
        bytes,
        note: "NT_SIGINFO",
    };
    Ok(SigInfo {
        signo: desc.i32(0)?,
        errno: desc.i32(4)?,
        code: desc.i32(8)?,
        address: desc.u64(SIGINFO_FIELDS)?,
    })
}

/// Parses the auxiliary vector: pairs up to `AT_NULL` or the end of the note.
fn parse_auxv(bytes: &[u8]) -> Auxv {
    let entries = bytes
        .chunks_exact(16)
        .map(|pair| {
            let (key, value) = pair.split_at(8);
            let word = |b: &[u8]| b.try_into().map(u64::from_le_bytes).unwrap_or(0);
            (word(key), word(value))
        })
        .take_while(|(key, _)| *key != AT_NULL)
        .collect();
    Auxv { entries }
}

/// Parses `NT_FILE`: a count, the page size, `count` (start, end, page offset) triples, then
/// `count` NUL-terminated paths.
fn parse_file_note(bytes: &[u8]) -> Result<Vec<FileMapping>, CoreError> {
    let desc = Desc {
        bytes,
        note: "NT_FILE",
    };
    let count = desc.u64(0)?;
    let page_size = desc.u64(8)?;
    let table_end = count
        .checked_mul(24)
        .and_then(|n| n.checked_add(16))
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n <= bytes.len())
        .ok_or_else(|| {
            CoreError::Malformed(format!(
                "NT_FILE note of {} bytes cannot hold {count} mappings",
                bytes.len()
            ))
        })?;
    // table_end <= bytes.len(), so the count fits in usize.
    let count = count as usize;
    let mut paths = bytes[table_end..].split(|&b| b == 0);
    let mut files = Vec::with_capacity(count);
    for i in 0..count {
        let at = 16 + 24 * i;
        let (start, end, pages) = (desc.u64(at)?, desc.u64(at + 8)?, desc.u64(at + 16)?);
        let path = paths.next().ok_or_else(|| {
            CoreError::Malformed(format!("NT_FILE note has fewer paths than its {count} mappings"))
        })?;
        if end < start {
            return Err(CoreError::Malformed(format!(
                "NT_FILE mapping {start:#x}-{end:#x} ends before it starts"
            )));
        }
        let offset = pages.checked_mul(page_size).ok_or_else(|| {
            CoreError::Malformed(format!(
                "NT_FILE offset of {pages} pages of {page_size} bytes overflows"
            ))
        })?;
        files.push(FileMapping {
            start,
            end,
            offset,
            path: String::from_utf8_lossy(path).into_owned(),
        });
    }
    Ok(files)
}
