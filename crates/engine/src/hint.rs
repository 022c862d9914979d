//! Cache hints for the model's hot loop.
//!
//! The million-pod runs spend much of their time waiting for records that an
//! event touches for the first time in minutes (the pod that ends and its
//! node). A handler that knows which records the *next* event will read can ask
//! for them now, so that the wait overlaps the current event's work.

/// Ask the CPU to bring the cache line holding the start of `value` into the
/// cache, without waiting for it. A hint only: it changes no state that the
/// program can observe, and does nothing on targets without the instruction.
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    prefetch_at(value, 0);
}

/// [`prefetch`] the line `offset` bytes into `value` (for records that span
/// several lines). `offset` must lie within `value`.
#[inline(always)]
pub fn prefetch_at<T>(value: &T, offset: usize) {
    debug_assert!(offset < size_of::<T>().max(1));
    #[cfg(all(target_arch = "x86_64", target_feature = "sse"))]
    #[allow(unsafe_code)]
    // SAFETY: `_mm_prefetch` needs SSE, which the cfg requires (it is part of the
    // x86-64 baseline). `prefetcht0` never faults and writes nothing, whatever
    // the address, and the address is computed with `wrapping_add` from a
    // reference, so no out-of-bounds pointer arithmetic is performed. (The
    // workspace forbids unsafe code; this crate only denies it, for this block.)
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let address = std::ptr::from_ref(value).cast::<i8>().wrapping_add(offset);
        _mm_prefetch::<_MM_HINT_T0>(address);
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse")))]
    let _ = (value, offset);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smoke test: the hint compiles, runs at every offset of a record and
    /// leaves it as it was.
    #[test]
    fn prefetching_changes_nothing() {
        let records = vec![[7u64; 24]; 4];
        for record in &records {
            prefetch(record);
            prefetch_at(record, 64);
            prefetch_at(record, 128);
        }
        assert!(records.iter().all(|r| r.iter().all(|&x| x == 7)));
    }
}
