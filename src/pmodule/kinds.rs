//! The enumerations of the pmodule API (README "Modules", `include/pmodule.h`): events, variable kinds,
//! process states, annotation and log levels, match types, pmap permissions. Each has a stable
//! integer value (what Lua's `pmodule.*` tables and C's enums hold) and a name. Variable kinds
//! are the snapshot's own vocabulary ([`VariableKind`], re-exported here).

pub use crate::snapshot::VariableKind;

/// Defines a fieldless enum with a stable integer value and a name per variant, plus `ALL`,
/// `name()`, `from_name()` and `from_value()`.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:expr, $text:expr;)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant = $value,)*
        }

        impl $name {
            /// Every value, in integer order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The name used in the API tables and in the snapshot.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            /// The value named `name`, if any.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($text => Some($name::$variant),)*
                    _ => None,
                }
            }

            /// The value whose integer is `value`, if any (integers coming from modules are
            /// validated here).
            pub fn from_value(value: i64) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| *v as i64 == value)
            }

            /// The stable integer of this value.
            pub fn value(self) -> i64 {
                self as i64
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

named_enum! {
    /// The events modules react to, in the order a snapshot meets them (§1).
    Event {
        /// Before the tracer stops the process.
        Preattach = 0, "preattach";
        /// Every thread stopped, before extraction.
        Attach = 1, "attach";
        /// A variable was extracted (still stopped).
        Variable = 2, "variable";
        /// A frame is complete, with its variables.
        Frame = 3, "frame";
        /// A thread is complete, with its frames.
        Thread = 4, "thread";
        /// After detaching: the snapshot is complete.
        Postattach = 5, "postattach";
    }
}

named_enum! {
    /// Process states (`pmodule.process_state`), the words of the snapshot's `process_state`.
    ProcessState {
        /// Running.
        Running = 0, "running";
        /// Interruptible sleep.
        Sleeping = 1, "sleeping";
        /// Uninterruptible (disk) sleep.
        Disk = 2, "disk";
        /// Stopped by a signal.
        Stopped = 3, "stopped";
        /// Stopped by a tracer.
        Traced = 4, "traced";
        /// Zombie.
        Zombie = 5, "zombie";
        /// Dead.
        Dead = 6, "dead";
        /// Idle kernel thread.
        Idle = 7, "idle";
        /// Blocked (paging / waking).
        Blocked = 8, "blocked";
        /// Queued.
        Queued = 9, "queued";
        /// Anything else.
        Unknown = 10, "unknown";
        /// Not a process: a core file, the memory image of one that has ended.
        Core = 11, "core";
    }
}

named_enum! {
    /// Annotation levels (`pmodule.annotation`).
    AnnotationKind {
        /// Informational text.
        Comment = 0, "comment";
        /// Something looks wrong.
        Warning = 1, "warning";
        /// Something is wrong.
        Critical = 2, "critical";
        /// A structured annotation: `{"json": {...}}`.
        Json = 3, "json";
    }
}

named_enum! {
    /// Log levels (`pmodule.log_level`).
    LogLevel {
        /// Debugging detail.
        Debug = 0, "debug";
        /// Information.
        Info = 1, "info";
        /// A warning.
        Warning = 2, "warning";
        /// An error.
        Error = 3, "error";
    }
}

named_enum! {
    /// How a match criterion compares text (`pmodule.match_type`).
    MatchType {
        /// Equal (object and file criteria compare base names).
        Exact = 0, "exact";
        /// Contained (object and file criteria search the full path).
        Substr = 1, "substr";
    }
}

named_enum! {
    /// Memory map permission flags (`pmodule.pmap_perms`), for `pmap:permissions(flag, ...)`.
    PmapPerm {
        /// Executable.
        Ex = 1, "ex";
        /// Readable.
        Rd = 2, "rd";
        /// Writable.
        Wr = 4, "wr";
        /// Private (copy on write).
        Pr = 8, "pr";
        /// Shared.
        Sh = 16, "sh";
        /// Readable, writable and executable.
        All = 7, "all";
    }
}

impl ProcessState {
    /// The state the snapshot's `process_state` word names (`Unknown` for any other word).
    pub fn from_snapshot(word: &str) -> Self {
        Self::from_name(word).unwrap_or(ProcessState::Unknown)
    }
}

impl PmapPerm {
    /// The bits of this flag.
    pub fn bits(self) -> u32 {
        self as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_round_trip() {
        for kind in VariableKind::ALL {
            assert_eq!(VariableKind::from_name(kind.name()), Some(*kind));
            assert_eq!(VariableKind::from_value(kind.value()), Some(*kind));
        }
        for event in Event::ALL {
            assert_eq!(Event::from_name(event.name()), Some(*event));
        }
        assert_eq!(VariableKind::from_value(99), None);
        assert_eq!(Event::from_value(-1), None);
        assert_eq!(ProcessState::from_snapshot("sleeping"), ProcessState::Sleeping);
        assert_eq!(ProcessState::from_snapshot("weird"), ProcessState::Unknown);
        assert_eq!(
            PmapPerm::All.bits(),
            PmapPerm::Rd.bits() | PmapPerm::Wr.bits() | PmapPerm::Ex.bits()
        );
    }
}
