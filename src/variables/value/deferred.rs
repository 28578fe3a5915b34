//! Values built after the resume: while the target is stopped, a frame variable is only located
//! (its bytes copied into a [`ValueImage`]) and the strings its value points to are copied into a
//! [`StringCopies`]; the snapshot variable (names, kinds, children, symbols) is built from those
//! copies once the target runs again. Building is most of the cost of a variable, and none of it
//! needs the target stopped when every byte it reads was copied.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::OnceLock;

use rustc_hash::FxHashMap as HashMap;

use super::{char_width, VariableLimits};
use crate::memory::MemoryReader;
use crate::variables::location::{ByteState, ValueImage};
use crate::variables::types::{Type, TypeKind};

/// At most this many string pointers are followed in one value (what a value of huge arrays of
/// structs could otherwise ask for).
const MAX_SLOTS: usize = 4096;

/// A pointer to characters inside a value, whose string building the value reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StringSlot {
    /// Byte offset of the pointer in the value.
    pub offset: usize,
    /// Size of the pointer in bytes.
    pub size: usize,
    /// Character width of the string.
    pub width: usize,
}

/// The string pointers a value of type `ty` holds that building it (with `limits`) follows: the
/// same walk as the value builder (members and elements down to the depth limit, the elements
/// shown), noting each pointer to characters.
pub(crate) fn string_slots(ty: &Type, limits: &VariableLimits) -> Vec<StringSlot> {
    let mut slots = Vec::new();
    collect_slots(ty, 0, 0, limits, &mut slots);
    slots
}

fn collect_slots(
    ty: &Type,
    offset: usize,
    level: usize,
    limits: &VariableLimits,
    slots: &mut Vec<StringSlot>,
) {
    if slots.len() >= MAX_SLOTS {
        return;
    }
    let stripped = ty.resolved();
    match stripped.kind() {
        TypeKind::Pointer => {
            let Some(pointee) = stripped.target() else {
                return;
            };
            if pointee.strip_typedefs().kind() == TypeKind::Function {
                return;
            }
            if let Some(width) = char_width(&pointee) {
                let size = stripped
                    .size()
                    .and_then(|s| usize::try_from(s).ok())
                    .unwrap_or(8)
                    .clamp(1, 8);
                slots.push(StringSlot { offset, size, width });
            }
        }
        TypeKind::Struct | TypeKind::Class | TypeKind::Union => {
            if level >= limits.depth {
                return;
            }
            for member in stripped.members() {
                if member.bit_field.is_some() {
                    continue;
                }
                let Some(member_offset) = member.offset.and_then(|o| usize::try_from(o).ok()) else {
                    continue;
                };
                collect_slots(
                    &member.ty,
                    offset.saturating_add(member_offset),
                    level + 1,
                    limits,
                    slots,
                );
            }
        }
        TypeKind::Array => {
            let Some(element) = stripped.target() else {
                return;
            };
            if level >= limits.depth {
                return;
            }
            let Some(count) = stripped.element_count() else {
                return;
            };
            let mut inner = Vec::new();
            collect_slots(&element, 0, level + 1, limits, &mut inner);
            if inner.is_empty() {
                return;
            }
            let element_size = element.size().and_then(|s| usize::try_from(s).ok()).unwrap_or(0);
            let shown = usize::try_from(count)
                .unwrap_or(usize::MAX)
                .min(limits.max_elements);
            for index in 0..shown {
                let base = offset.saturating_add(index.saturating_mul(element_size));
                for slot in &inner {
                    if slots.len() >= MAX_SLOTS {
                        return;
                    }
                    slots.push(StringSlot {
                        offset: base.saturating_add(slot.offset),
                        ..*slot
                    });
                }
            }
        }
        _ => {}
    }
}

/// The string pointers of one type, walked once for the limits first asked with (depth,
/// elements shown).
#[derive(Debug, Default)]
pub(crate) struct SlotCache {
    walked: OnceLock<(usize, usize, Vec<StringSlot>)>,
}

impl SlotCache {
    /// The string pointers of `ty` (always the same type for one cache) with `limits`.
    pub fn slots(&self, ty: &Type, limits: &VariableLimits) -> Cow<'_, [StringSlot]> {
        let (depth, elements, slots) = self
            .walked
            .get_or_init(|| (limits.depth, limits.max_elements, string_slots(ty, limits)));
        if (*depth, *elements) == (limits.depth, limits.max_elements) {
            Cow::Borrowed(slots)
        } else {
            Cow::Owned(string_slots(ty, limits))
        }
    }
}

/// What deferring the building of one planned variable needs: how many bytes building it reads,
/// and the string pointers it follows.
#[derive(Debug, Default)]
pub(crate) struct Deferral {
    /// The value's size, or its completed type's when larger.
    needed: usize,
    slots: SlotCache,
}

impl Deferral {
    /// For a variable of type `ty` whose location holds `size` bytes.
    pub fn new(ty: &Type, size: usize) -> Self {
        let resolved = ty.resolved().size().and_then(|s| usize::try_from(s).ok());
        Self {
            needed: resolved.unwrap_or(0).max(size),
            slots: SlotCache::default(),
        }
    }

    /// The string pointers building a value of `ty` (always the same type) with `limits` follows.
    pub fn slots(&self, ty: &Type, limits: &VariableLimits) -> Cow<'_, [StringSlot]> {
        self.slots.slots(ty, limits)
    }

    /// Prepares the value of type `ty` located as `image` to be built after the resume: copies
    /// from `memory` the strings it points to into `copies`, and says yes. No (nothing copied)
    /// when building would read target memory beyond the image: the value is in memory and the
    /// image does not hold all of it (what an image not in memory lacks is missing, not read).
    pub fn defer(
        &self,
        ty: &Type,
        image: &ValueImage,
        memory: &dyn MemoryReader,
        limits: &VariableLimits,
        copies: &StringCopies,
    ) -> bool {
        if image.address.is_some() && image.len() < self.needed {
            return false;
        }
        copies.copy_from(image, &self.slots(ty, limits), memory, limits);
        true
    }
}

/// The strings values point to, copied while the target was stopped (by address), and read back
/// when the values are built after the resume. A read of an address not copied reads nothing, so
/// a value never mixes bytes of the stopped and the running target.
#[derive(Debug, Default)]
pub struct StringCopies {
    copies: RefCell<HashMap<u64, Box<[u8]>>>,
}

impl StringCopies {
    /// No copies yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Copies, from `memory`, the strings the pointers `slots` of `image` point to (those whose
    /// bytes are known and not null, and not copied already), as the value builder with `limits`
    /// will read them.
    pub(crate) fn copy_from(
        &self,
        image: &ValueImage,
        slots: &[StringSlot],
        memory: &dyn MemoryReader,
        limits: &VariableLimits,
    ) {
        let mut copies = self.copies.borrow_mut();
        for slot in slots {
            if image.state_of(slot.offset, slot.size) != Some(ByteState::Known) {
                continue;
            }
            let mut raw = [0u8; 8];
            raw[..slot.size].copy_from_slice(&image.bytes[slot.offset..slot.offset + slot.size]);
            let address = u64::from_le_bytes(raw);
            if address == 0 {
                continue;
            }
            let max = limits.max_string.max(slot.width);
            let len = max - max % slot.width;
            if copies.get(&address).is_some_and(|c| c.len() >= len) {
                continue;
            }
            let mut buffer = vec![0u8; len];
            let read = memory.read_at(address, &mut buffer);
            buffer.truncate(read);
            copies.insert(address, buffer.into_boxed_slice());
        }
    }

    /// Adds the copies of `other` (made from the same stopped target), keeping the longer copy
    /// of a string both copied, as copying them all here would have.
    pub fn merge(&self, other: StringCopies) {
        let mut copies = self.copies.borrow_mut();
        for (address, copy) in other.copies.into_inner() {
            match copies.get(&address) {
                Some(mine) if mine.len() >= copy.len() => {}
                _ => {
                    copies.insert(address, copy);
                }
            }
        }
    }

    /// How many strings were copied.
    pub fn len(&self) -> usize {
        self.copies.borrow().len()
    }

    /// Whether no string was copied.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl MemoryReader for StringCopies {
    fn read_at(&self, addr: u64, buf: &mut [u8]) -> usize {
        read_copy(&self.copies.borrow(), addr, buf)
    }
}

impl StringCopies {
    /// The copies, no longer added to: readable from several threads at once (the values are
    /// built after the resume on two CPUs).
    pub fn freeze(self) -> CopiedStrings {
        CopiedStrings(self.copies.into_inner())
    }
}

/// The strings copied while the target was stopped, frozen (see [`StringCopies::freeze`]).
#[derive(Debug, Default)]
pub struct CopiedStrings(HashMap<u64, Box<[u8]>>);

impl MemoryReader for CopiedStrings {
    fn read_at(&self, addr: u64, buf: &mut [u8]) -> usize {
        read_copy(&self.0, addr, buf)
    }
}

/// Reads the copy of the string at `addr` into `buf` (nothing when it was not copied).
fn read_copy(copies: &HashMap<u64, Box<[u8]>>, addr: u64, buf: &mut [u8]) -> usize {
    let Some(copy) = copies.get(&addr) else {
        return 0;
    };
    let len = copy.len().min(buf.len());
    buf[..len].copy_from_slice(&copy[..len]);
    len
}
