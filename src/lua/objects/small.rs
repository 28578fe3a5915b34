//! siginfo and pmap objects.

use super::method;
use crate::pmodule::{PmapEntry, PmapPerm, SigInfo};
use mlua::{MetaMethod, UserData, UserDataMethods};

/// `frame:siginfo()`.
pub struct LuaSigInfo(pub SigInfo);

impl UserData for LuaSigInfo {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        method(methods, "siginfo:reason", |_, this: &Self, _| {
            Ok((this.0.reason.clone(), this.0.sent_by_kill()))
        });
        method(methods, "siginfo:address_populated", |_, this: &Self, _| {
            Ok(this.0.address.is_some())
        });
        method(methods, "siginfo:address", |_, this: &Self, _| {
            Ok(this.0.address.unwrap_or(0) as i64)
        });
        method(methods, "siginfo:num", |_, this: &Self, _| {
            Ok(i64::from(this.0.num))
        });
        method(methods, "siginfo:code", |_, this: &Self, _| {
            Ok(i64::from(this.0.code))
        });
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| Ok(this.0.to_string()));
    }
}

/// `bt:pmap_entry(addr)`.
pub struct LuaPmap(pub PmapEntry);

impl LuaPmap {
    fn bits(&self) -> u32 {
        let e = &self.0;
        let mut bits = 0;
        for (on, flag) in [
            (e.executable, PmapPerm::Ex),
            (e.readable, PmapPerm::Rd),
            (e.writable, PmapPerm::Wr),
            (e.private, PmapPerm::Pr),
            (!e.private, PmapPerm::Sh),
        ] {
            if on {
                bits |= flag.bits();
            }
        }
        bits
    }
}

impl UserData for LuaPmap {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        method(methods, "pmap:guard", |_, this: &Self, _| Ok(this.0.guard));
        method(methods, "pmap:permissions", |_, this: &Self, args| {
            if args.is_empty() {
                return Err(args.error(1, "flag", "at least one pmodule.pmap_perms value expected"));
            }
            let bits = this.bits();
            for n in 1..=args.len() {
                let value = args.integer(n, "flag")?;
                let flag = PmapPerm::from_value(value).ok_or_else(|| {
                    args.error(n, "flag", format!("{value} is not a pmodule.pmap_perms value"))
                })?;
                if bits & flag.bits() != flag.bits() {
                    return Ok(false);
                }
            }
            Ok(true)
        });
        method(methods, "pmap:start", |_, this: &Self, _| Ok(this.0.start as i64));
        method(methods, "pmap:stop", |_, this: &Self, _| Ok(this.0.end as i64));
        method(methods, "pmap:path", |_, this: &Self, _| Ok(this.0.path.clone()));
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            let e = &this.0;
            let p = |b: bool, c: char| if b { c } else { '-' };
            Ok(format!(
                "{:#x}-{:#x} {}{}{}{} {}",
                e.start,
                e.end,
                p(e.readable, 'r'),
                p(e.writable, 'w'),
                p(e.executable, 'x'),
                if e.private { 'p' } else { 's' },
                e.path
            ))
        });
    }
}
