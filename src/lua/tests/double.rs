//! A test implementation of our own [`TypedMemory`] and [`ProcessAccess`] interfaces: a small
//! type model and a memory image holding the pmodule tutorial's data (`papa`, `some_struct_g`
//! and its list, `global_version`, the globals of `invalid_write.c`, `hang_tls_counter` per
//! thread), laid out as gcc lays them out on x86-64. The real providers (DWARF, the stopped
//! process) come with the session wiring.

use crate::pmodule::values::{base_type_of, encode_address, encode_float, encode_integer};
use crate::pmodule::{
    BtError, BtHandle, BtVar, GlobalEntry, GlobalFilter, PmapEntry, ProcessAccess, TypedMemory, VariableKind,
};
use crate::snapshot::{Address, Variable};

/// A type of the model (ids index [`Fake::types`]).
#[derive(Clone, Debug)]
pub enum Ty {
    Int {
        name: &'static str,
        size: u64,
        signed: bool,
    },
    Double,
    Char,
    Ptr(usize),
    Struct {
        name: &'static str,
        size: u64,
        members: Vec<(&'static str, u64, usize)>,
    },
    Array(usize, u64),
}

/// A global or thread-local variable of the model.
#[derive(Clone, Debug)]
pub struct FakeGlobal {
    pub name: &'static str,
    pub ty: usize,
    pub address: u64,
    pub object: &'static str,
    pub cu: &'static str,
    /// Thread-local: the thread it belongs to.
    pub tid: Option<i32>,
}

/// The model: types, globals, memory from `BASE`.
pub struct Fake {
    pub types: Vec<Ty>,
    pub globals: Vec<FakeGlobal>,
    pub memory: Vec<u8>,
}

/// The first mapped address (below it, nothing reads: NULL and low pages fault).
pub const BASE: u64 = 0x1000;
pub const EXE: &str = "/build/crash";
pub const CRASH_C: &str = "/src/c-examples/crash.c";
pub const INVALID_WRITE_C: &str = "/src/c-examples/invalid_write.c";
pub const HANG_C: &str = "/src/c-examples/hang.c";

// Type ids.
const INT: usize = 0;
const DOUBLE: usize = 1;
const CHAR: usize = 2;
const CHAR_PTR: usize = 3;
const NESTED: usize = 4;
const NESTED_P: usize = 5;
const NESTED_PP: usize = 6;
const NESTED_PPP: usize = 7;
const LINKED: usize = 8;
const LINKED_P: usize = 9;
const SOMESTRUCT: usize = 10;
const SOMESTRUCT_P: usize = 11;
const ARRAY_STRUCT: usize = 12;
const LINKAGE: usize = 13;
const LIST_HEAD: usize = 14;
const LINKED_PP: usize = 15;
const UINT: usize = 16;
const CHAR_ARRAY: usize = 17;

// Addresses.
pub const PAPA: u64 = 0x4000;
pub const SOME_STRUCT_G: u64 = 0x4010;
pub const GLOBAL_VERSION: u64 = 0x4018;
pub const COUNTER: u64 = 0x4020;
pub const RATIO: u64 = 0x4028;
pub const MESSAGE: u64 = 0x4030;
pub const KIDS: u64 = 0x10000;
pub const SOME: u64 = 0x11000;
pub const NODES: u64 = 0x12000;
pub const STRINGS: u64 = 0x13000;
pub const TLS: u64 = 0x14000;
const END: u64 = 0x15000;

impl Fake {
    /// The tutorial's data; `tids` get `hang_tls_counter` = 100, 101, ...
    pub fn tutorial(tids: &[i32]) -> Self {
        let types = vec![
            Ty::Int {
                name: "int",
                size: 4,
                signed: true,
            },
            Ty::Double,
            Ty::Char,
            Ty::Ptr(CHAR),
            Ty::Struct {
                name: "nested",
                size: 4,
                members: vec![("c", 0, INT)],
            },
            Ty::Ptr(NESTED),
            Ty::Ptr(NESTED_P),
            Ty::Ptr(NESTED_PP),
            Ty::Struct {
                name: "linkedstruct",
                size: 16,
                members: vec![("linkage", 0, LINKAGE), ("v", 8, INT)],
            },
            Ty::Ptr(LINKED),
            Ty::Struct {
                name: "somestruct",
                size: 72,
                members: vec![
                    ("a", 0, INT),
                    ("b", 8, DOUBLE),
                    ("n", 16, NESTED),
                    ("np", 24, NESTED_P),
                    ("npp", 32, NESTED_PP),
                    ("nppp", 40, NESTED_PPP),
                    ("list", 48, LIST_HEAD),
                    ("s", 64, CHAR_PTR),
                ],
            },
            Ty::Ptr(SOMESTRUCT),
            Ty::Struct {
                name: "array_struct",
                size: 16,
                members: vec![("kids", 0, SOMESTRUCT_P), ("len", 8, INT)],
            },
            Ty::Struct {
                name: "linkage",
                size: 8,
                members: vec![("stqe_next", 0, LINKED_P)],
            },
            Ty::Struct {
                name: "list_head",
                size: 16,
                members: vec![("stqh_first", 0, LINKED_P), ("stqh_last", 8, LINKED_PP)],
            },
            Ty::Ptr(LINKED_P),
            Ty::Int {
                name: "unsigned int",
                size: 4,
                signed: false,
            },
            Ty::Array(CHAR, 32),
        ];
        let mut fake = Fake {
            types,
            globals: Vec::new(),
            memory: vec![0; (END - BASE) as usize],
        };
        let papa_s = STRINGS;
        let kids_s = STRINGS + 8;
        let version_s = STRINGS + 16;
        fake.put(papa_s, b"papa\0");
        fake.put(kids_s, b"kids\0");
        fake.put(version_s, b"crash 1.0.0\0");
        // papa = { kids, 10 }
        fake.put_u64(PAPA, KIDS);
        fake.put(PAPA + 8, &10i32.to_le_bytes());
        for z in 0..10u64 {
            let kid = KIDS + z * 72;
            let value = 9 + z as i32;
            fake.put(kid, &value.to_le_bytes());
            fake.put(kid + 8, &f64::from(value).to_le_bytes());
            fake.put(kid + 16, &value.to_le_bytes());
            fake.put_u64(kid + 24, kid + 16);
            fake.put_u64(kid + 32, kid + 24);
            fake.put_u64(kid + 40, kid + 32);
            fake.put_u64(kid + 64, papa_s);
        }
        // some_struct_g -> SOME with a, b, n, the pointer chain, the list, s.
        fake.put_u64(SOME_STRUCT_G, SOME);
        fake.put(SOME, &4i32.to_le_bytes());
        fake.put(SOME + 8, &5f64.to_le_bytes());
        fake.put(SOME + 16, &6i32.to_le_bytes());
        fake.put_u64(SOME + 24, SOME + 16);
        fake.put_u64(SOME + 32, SOME + 24);
        fake.put_u64(SOME + 40, SOME + 32);
        fake.put_u64(SOME + 48, NODES);
        fake.put_u64(SOME + 56, NODES + 9 * 16);
        fake.put_u64(SOME + 64, kids_s);
        for v in 0..10u64 {
            let node = NODES + v * 16;
            fake.put_u64(node, if v < 9 { node + 16 } else { 0 });
            fake.put(node + 8, &(v as i32).to_le_bytes());
        }
        fake.put_u64(GLOBAL_VERSION, version_s);
        fake.put(COUNTER, &41i32.to_le_bytes());
        fake.put(RATIO, &2.5f64.to_le_bytes());
        fake.put(MESSAGE, b"invalid write ahead\0");
        let global = |name, ty, address, cu| FakeGlobal {
            name,
            ty,
            address,
            object: EXE,
            cu,
            tid: None,
        };
        fake.globals = vec![
            global("papa", ARRAY_STRUCT, PAPA, CRASH_C),
            global("some_struct_g", SOMESTRUCT_P, SOME_STRUCT_G, CRASH_C),
            global("global_version", CHAR_PTR, GLOBAL_VERSION, CRASH_C),
            global("invalid_write_counter", INT, COUNTER, INVALID_WRITE_C),
            global("invalid_write_ratio", DOUBLE, RATIO, INVALID_WRITE_C),
            global("invalid_write_message", CHAR_ARRAY, MESSAGE, INVALID_WRITE_C),
        ];
        for (i, tid) in tids.iter().enumerate() {
            let address = TLS + i as u64 * 8;
            fake.put(address, &(100 + i as i32).to_le_bytes());
            fake.globals.push(FakeGlobal {
                name: "hang_tls_counter",
                ty: INT,
                address,
                object: EXE,
                cu: HANG_C,
                tid: Some(*tid),
            });
        }
        let _ = UINT;
        fake
    }

    fn put(&mut self, address: u64, bytes: &[u8]) {
        let at = (address - BASE) as usize;
        self.memory[at..at + bytes.len()].copy_from_slice(bytes);
    }

    fn put_u64(&mut self, address: u64, value: u64) {
        self.put(address, &value.to_le_bytes());
    }

    /// Up to `len` bytes at `address`.
    pub fn bytes(&self, address: u64, len: usize) -> Vec<u8> {
        if !(BASE..END).contains(&address) {
            return Vec::new();
        }
        let at = (address - BASE) as usize;
        let end = at.saturating_add(len).min(self.memory.len());
        self.memory[at..end].to_vec()
    }

    fn u64_at(&self, address: u64) -> Option<u64> {
        let b = self.bytes(address, 8);
        (b.len() == 8).then(|| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    }

    fn ty_of(&self, var: &BtVar) -> usize {
        var.handle.get::<usize>().copied().unwrap_or(INT)
    }

    pub fn type_name(&self, ty: usize) -> String {
        match &self.types[ty] {
            Ty::Int { name, .. } => name.to_string(),
            Ty::Double => "double".into(),
            Ty::Char => "char".into(),
            Ty::Ptr(t) => format!("{} *", self.type_name(*t)).replace("* *", "**"),
            Ty::Struct { name, .. } => format!("struct {name}"),
            Ty::Array(e, n) => format!("{}[{n}]", self.type_name(*e)),
        }
    }

    fn size(&self, ty: usize) -> u64 {
        match &self.types[ty] {
            Ty::Int { size, .. } => *size,
            Ty::Double | Ty::Ptr(_) => 8,
            Ty::Char => 1,
            Ty::Struct { size, .. } => *size,
            Ty::Array(e, n) => self.size(*e) * n,
        }
    }

    fn kind_of(&self, ty: usize) -> VariableKind {
        match &self.types[ty] {
            Ty::Int { signed: true, .. } | Ty::Char => VariableKind::Ll,
            Ty::Int { signed: false, .. } => VariableKind::Ull,
            Ty::Double => VariableKind::Dbl,
            Ty::Ptr(_) => VariableKind::Reference,
            Ty::Struct { .. } => VariableKind::Tuple,
            Ty::Array(e, _) if matches!(self.types[*e], Ty::Char) => VariableKind::String,
            Ty::Array(..) => VariableKind::Array,
        }
    }

    fn var(&self, name: &str, ty: usize, address: Option<u64>) -> BtVar {
        BtVar {
            name: name.to_string(),
            type_name: self.type_name(ty),
            address,
            handle: BtHandle::new(ty),
        }
    }

    fn read_value(&self, name: &str, ty: usize, address: Option<u64>, depth: usize) -> Variable {
        let type_name = self.type_name(ty);
        let kind = self.kind_of(ty);
        let mut v = Variable {
            name: crate::snapshot::SharedStr::copy_of(name),
            base_type: base_type_of(&type_name).into(),
            type_name: type_name.into(),
            kind,
            address: address.map(Address),
            value: serde_json::Value::Null,
            symbol: None,
            parameter: false,
            state: crate::snapshot::VariableState::Ok,
            entry_value: serde_json::Value::Null,
            target_symbol: None,
            children: Vec::new(),
            annotations: Vec::new(),
            marks: Default::default(),
        };
        let Some(address) = address else {
            v.state = crate::snapshot::VariableState::OptimizedOut;
            return v;
        };
        let size = self.size(ty) as usize;
        let bytes = self.bytes(address, size);
        if bytes.len() < size {
            v.state = crate::snapshot::VariableState::Unreadable;
            return v;
        }
        match &self.types[ty] {
            Ty::Int { size: 4, signed, .. } => {
                let raw = u32::from_le_bytes(bytes[..4].try_into().unwrap_or([0; 4]));
                v.value = encode_integer(if *signed {
                    i128::from(raw as i32)
                } else {
                    i128::from(raw)
                });
            }
            Ty::Int { .. } | Ty::Char => v.value = encode_integer(i128::from(bytes[0] as i8)),
            Ty::Double => v.value = encode_float(f64::from_le_bytes(bytes[..8].try_into().unwrap_or([0; 8]))),
            Ty::Ptr(target) => {
                let p = u64::from_le_bytes(bytes[..8].try_into().unwrap_or([0; 8]));
                v.value = encode_address(p);
                if matches!(self.types[*target], Ty::Char) && p != 0 {
                    let s = self.bytes(p, 256);
                    let end = s.iter().position(|b| *b == 0).unwrap_or(s.len());
                    v.symbol = Some(String::from_utf8_lossy(&s[..end]).into_owned());
                }
            }
            Ty::Struct { members, .. } => {
                if depth > 0 {
                    for (m, offset, mty) in members {
                        v.children
                            .push(self.read_value(m, *mty, Some(address + offset), depth - 1));
                    }
                }
            }
            Ty::Array(e, n) => {
                if matches!(self.types[*e], Ty::Char) {
                    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
                    v.symbol = Some(String::from_utf8_lossy(&bytes[..end]).into_owned());
                } else if depth > 0 {
                    let es = self.size(*e);
                    for i in 0..*n {
                        v.children.push(self.read_value(
                            &format!("[{i}]"),
                            *e,
                            Some(address + i * es),
                            depth - 1,
                        ));
                    }
                }
            }
        }
        v
    }

    fn entries(&self, tid: Option<i32>, filter: &GlobalFilter) -> Vec<GlobalEntry> {
        self.globals
            .iter()
            .filter(|g| g.tid == tid && filter.accepts(g.name, g.object, g.cu))
            .map(|g| GlobalEntry {
                var: self.var(g.name, g.ty, Some(g.address)),
                object: g.object.to_string(),
                cu: g.cu.to_string(),
            })
            .collect()
    }

    /// The snapshot variable of global `name` (as the extraction would record it).
    pub fn global_variable(&self, name: &str) -> Variable {
        let g = self
            .globals
            .iter()
            .find(|g| g.name == name)
            .expect("known global");
        self.read_value(g.name, g.ty, Some(g.address), 2)
    }

    /// The bt variable of global `name`.
    pub fn global_bt(&self, name: &str) -> BtVar {
        let g = self
            .globals
            .iter()
            .find(|g| g.name == name)
            .expect("known global");
        self.var(g.name, g.ty, Some(g.address))
    }
}

impl TypedMemory for Fake {
    fn global(&self, name: &str, object: Option<&str>, cu: Option<&str>) -> Option<BtVar> {
        let filter = GlobalFilter {
            object: object.map(str::to_string),
            cu: cu.map(str::to_string),
            name: Some(name.to_string()),
        };
        self.entries(None, &filter).into_iter().next().map(|e| e.var)
    }

    fn globals(&self, filter: &GlobalFilter) -> Vec<GlobalEntry> {
        self.entries(None, filter)
    }

    fn thread_locals(&self, tid: i32, filter: &GlobalFilter) -> Vec<GlobalEntry> {
        self.entries(Some(tid), filter)
    }

    fn kind(&self, var: &BtVar) -> VariableKind {
        self.kind_of(self.ty_of(var))
    }

    fn member(&self, var: &BtVar, name: &str) -> Result<BtVar, BtError> {
        // Through pointers to the struct, as the navigation engine goes.
        let mut current = var.clone();
        while matches!(self.types[self.ty_of(&current)], Ty::Ptr(_)) {
            let pointee = self.deref(&current, None)?;
            if pointee.address == Some(0) {
                return Err(BtError::NullPointer {
                    path: current.name.clone(),
                    type_name: current.type_name.clone(),
                });
            }
            current = pointee;
        }
        let Ty::Struct { members, .. } = &self.types[self.ty_of(&current)] else {
            return Err(BtError::NotAStruct {
                name: var.name.clone(),
                path: current.name.clone(),
                type_name: current.type_name.clone(),
                member: name.to_string(),
            });
        };
        members
            .iter()
            .find(|(m, _, _)| *m == name)
            .map(|(m, offset, ty)| self.var(m, *ty, current.address.map(|a| a + offset)))
            .ok_or_else(|| BtError::NoMember {
                path: current.name.clone(),
                type_name: current.type_name.clone(),
                member: name.to_string(),
            })
    }

    fn deref(&self, var: &BtVar, at: Option<u64>) -> Result<BtVar, BtError> {
        let Ty::Ptr(target) = self.types[self.ty_of(var)] else {
            return Err(BtError::NotAPointer {
                path: var.name.clone(),
                type_name: var.type_name.clone(),
                what: "",
            });
        };
        let address = match at {
            Some(a) => a,
            None => var
                .address
                .and_then(|a| self.u64_at(a))
                .ok_or_else(|| BtError::Unreadable {
                    path: var.name.clone(),
                    type_name: var.type_name.clone(),
                    address: var.address.unwrap_or(0),
                    len: 8,
                })?,
        };
        Ok(self.var(&format!("*{}", var.name), target, Some(address)))
    }

    fn element(&self, var: &BtVar, index: i64) -> Result<BtVar, BtError> {
        let ty = self.ty_of(var);
        let (elem, base) = match self.types[ty] {
            Ty::Array(e, _) => (e, var.address),
            Ty::Ptr(t) => (t, var.address.and_then(|a| self.u64_at(a))),
            _ => {
                return Err(BtError::NotIndexable {
                    path: var.name.clone(),
                    type_name: var.type_name.clone(),
                    index,
                })
            }
        };
        let address = base.map(|b| b.wrapping_add((index as u64).wrapping_mul(self.size(elem))));
        Ok(self.var(&format!("{}[{index}]", var.name), elem, address))
    }

    fn size_of(&self, var: &BtVar) -> Result<u64, BtError> {
        Ok(self.size(self.ty_of(var)))
    }

    fn value(&self, var: &BtVar) -> Variable {
        self.read_value(&var.name, self.ty_of(var), var.address, 1)
    }
}

impl ProcessAccess for Fake {
    fn read(&self, address: u64, len: usize) -> Vec<u8> {
        self.bytes(address, len)
    }

    fn symbol_address(&self, symbol: &str, object: Option<&str>) -> Option<u64> {
        self.globals
            .iter()
            .find(|g| g.tid.is_none() && g.name == symbol && object.is_none_or(|o| g.object.contains(o)))
            .map(|g| g.address)
    }

    fn address_symbol(&self, address: u64) -> Option<String> {
        self.globals
            .iter()
            .find(|g| g.tid.is_none() && address >= g.address && address < g.address + self.size(g.ty))
            .map(|g| g.name.to_string())
    }

    fn pmap_entry(&self, address: u64) -> Option<PmapEntry> {
        (BASE..END).contains(&address).then(|| PmapEntry {
            start: BASE,
            end: END,
            readable: true,
            writable: true,
            executable: false,
            private: true,
            guard: false,
            path: EXE.to_string(),
        })
    }
}
