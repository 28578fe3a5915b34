//! After the resume: names what the snapshot's pointers point to (`target_symbol`), as gdb
//! prints a pointer: `0x5628... <hang_lock>`, `0x5628... <hang_forever+40>`. The ELF symbol
//! tables are searched here, never while the target is stopped; a function pointer built while
//! stopped also gets its `symbol` (the function's name) here.

use std::collections::HashMap;

use crate::debuginfo::ProcessObjects;
use crate::snapshot::{Snapshot, Variable, VariableKind};

/// Sets `target_symbol` on every pointer and function pointer of `snapshot` (frames' variables,
/// thread-local variables and globals, members included) whose address lies in a symbol of an
/// object of `objects`.
pub fn name_pointees(snapshot: &mut Snapshot, objects: &ProcessObjects) {
    let mut namer = Namer {
        objects,
        known: HashMap::new(),
    };
    for thread in &mut snapshot.threads {
        for frame in &mut thread.frames {
            namer.name_all(&mut frame.variables);
        }
        namer.name_all(&mut thread.variables);
    }
    namer.name_all(&mut snapshot.globals);
}

/// Looks addresses up once each.
struct Namer<'a> {
    objects: &'a ProcessObjects,
    /// Address -> (gdb's `name+offset`, the function symbol as `symbol` spells it).
    known: HashMap<u64, Option<(String, u64)>>,
}

impl Namer<'_> {
    fn name_all(&mut self, variables: &mut [Variable]) {
        for variable in variables {
            self.name(variable);
        }
    }

    fn name(&mut self, variable: &mut Variable) {
        self.name_all(&mut variable.children);
        let pointer = variable.kind == VariableKind::Fn
            || (variable.kind == VariableKind::Reference && !variable.type_name.ends_with('&'));
        if !pointer {
            return;
        }
        let Some(address) = variable
            .value
            .as_str()
            .and_then(|text| text.strip_prefix("0x"))
            .and_then(|digits| u64::from_str_radix(digits, 16).ok())
            .filter(|address| *address != 0)
        else {
            return;
        };
        let objects = self.objects;
        let found = self
            .known
            .entry(address)
            .or_insert_with(|| objects.find(address)?.address_symbol(address));
        let Some((name, offset)) = found else {
            return;
        };
        variable.target_symbol = Some(if *offset == 0 {
            name.clone()
        } else {
            format!("{name}+{offset}")
        });
        if variable.kind == VariableKind::Fn && variable.symbol.is_none() {
            variable.symbol = Some(if *offset == 0 {
                name.clone()
            } else {
                format!("{name}+{offset:#x}")
            });
        }
    }
}
