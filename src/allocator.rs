//! The allocator of the `puqbackup` command: the system's, asking the
//! kernel for transparent huge pages on large blocks.
//!
//! The structure of an archive of tens of thousands of entries, the file
//! list and the verdicts of the entries' data are each a block of several
//! mebibytes, written once from start to end. Each 4 KiB page of such a
//! block costs a page fault the first time it is touched, and on an
//! archive of 50,000 small files those faults were a third of `verify`'s
//! time. A block of 1 MiB or more is asked of the system as whole huge
//! pages, aligned on one, and advised to be backed by them, so that it
//! faults once for each 2 MiB. Where the kernel has transparent huge pages
//! off, or no huge page to give, the advice changes nothing and the block
//! is served as before.

// The one place of the crate that needs `unsafe`: a global allocator is an
// unsafe trait, and asking for huge pages takes a raw address.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};

/// The size and alignment of a transparent huge page on x86-64 and arm64
/// with 4 KiB pages.
const HUGE_PAGE: usize = 2 << 20;

/// Blocks of at least this size are asked of the system as whole huge
/// pages: a block of 1.5 MiB then faults once rather than 384 times.
const LARGE_BLOCK: usize = 1 << 20;

/// The system allocator, with large blocks advised to be backed by huge
/// pages.
pub struct HugePageAllocator;

// SAFETY: every block is the system allocator's, allocated, reallocated and
// freed by it with the layout `system_layout` gives for the caller's; the
// advice only touches whole huge pages inside a block just handed out,
// which the caller alone owns.
unsafe impl GlobalAlloc for HugePageAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc`; the system's layout
        // is as large, and aligned at least as much.
        let system = system_layout(layout);
        let block = unsafe { System.alloc(system) };
        advise_huge_pages(block, system.size());
        block
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let system = system_layout(layout);
        let block = unsafe { System.alloc_zeroed(system) };
        advise_huge_pages(block, system.size());
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: `block` came from `System` with the system's layout for
        // `layout`.
        unsafe { System.dealloc(block, system_layout(layout)) }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = system_layout(layout);
        let Ok(wanted) = Layout::from_size_align(new_size, layout.align()) else {
            return std::ptr::null_mut();
        };
        let new = system_layout(wanted);
        if new.align() == old.align() {
            // SAFETY: `block` came from `System` with `old`, and the new
            // size keeps the system's alignment.
            let moved = unsafe { System.realloc(block, old, new.size()) };
            advise_huge_pages(moved, new.size());
            return moved;
        }

        // Across the huge-page size the alignment changes: a new block,
        // the content copied, the old block freed.
        // SAFETY: `wanted` is a valid layout of non-zero size (the
        // caller's contract); both blocks are live and distinct while the
        // smaller of the two sizes is copied.
        unsafe {
            let moved = self.alloc(wanted);
            if !moved.is_null() {
                std::ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
                self.dealloc(block, layout);
            }
            moved
        }
    }
}

/// The layout a block is asked of the system with: a large one is whole
/// huge pages, starting on one, so that all of it can be advised.
fn system_layout(layout: Layout) -> Layout {
    if layout.size() < LARGE_BLOCK || layout.align() > HUGE_PAGE {
        return layout;
    }
    layout
        .size()
        .checked_next_multiple_of(HUGE_PAGE)
        .and_then(|size| Layout::from_size_align(size, HUGE_PAGE).ok())
        .unwrap_or(layout)
}

/// Asks for huge pages on the whole 2 MiB pages inside the block of `size`
/// bytes at `block`; the answer is ignored, since the advice is only a
/// hint.
fn advise_huge_pages(block: *mut u8, size: usize) {
    if block.is_null() {
        return;
    }
    if let Some((start, length)) = huge_pages_within(block as usize, size) {
        // SAFETY: the range lies within the block, whole pages only; the
        // advice changes how its pages are backed, never their content.
        let _ = unsafe {
            rustix::mm::madvise(
                start as *mut std::ffi::c_void,
                length,
                rustix::mm::Advice::LinuxHugepage,
            )
        };
    }
}

/// The whole huge pages within `size` bytes from `address`, as a start and
/// a length, when the block is large enough to be advised and holds one.
fn huge_pages_within(address: usize, size: usize) -> Option<(usize, usize)> {
    if size < HUGE_PAGE {
        return None;
    }
    let start = address.checked_next_multiple_of(HUGE_PAGE)?;
    let end = address.checked_add(size)? / HUGE_PAGE * HUGE_PAGE;
    (end > start).then(|| (start, end - start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_huge_pages_inside_the_block_are_advised() {
        let page = HUGE_PAGE;
        assert_eq!(huge_pages_within(page, page), Some((page, page)));
        assert_eq!(
            huge_pages_within(page + 16, 3 * page),
            Some((2 * page, 2 * page))
        );
        // Large, but across a boundary without a whole page inside.
        assert_eq!(huge_pages_within(page + 16, page + 100), None);
        assert_eq!(huge_pages_within(0, page - 1), None);
        assert_eq!(huge_pages_within(usize::MAX - page, 2 * page), None);
    }

    #[test]
    fn large_blocks_are_asked_for_as_whole_huge_pages() {
        let asked = |size: usize, align: usize| {
            let layout = system_layout(Layout::from_size_align(size, align).unwrap());
            (layout.size(), layout.align())
        };
        assert_eq!(asked(LARGE_BLOCK - 1, 8), (LARGE_BLOCK - 1, 8));
        assert_eq!(asked(LARGE_BLOCK, 8), (HUGE_PAGE, HUGE_PAGE));
        assert_eq!(asked(HUGE_PAGE + 1, 16), (2 * HUGE_PAGE, HUGE_PAGE));
        assert_eq!(
            asked(LARGE_BLOCK, 2 * HUGE_PAGE),
            (LARGE_BLOCK, 2 * HUGE_PAGE)
        );
    }

    #[test]
    fn blocks_keep_their_content_across_the_huge_page_size_and_large_ones_start_on_one() {
        let allocator = HugePageAllocator;
        let layout = Layout::from_size_align(3 * HUGE_PAGE, 8).unwrap();
        // SAFETY: each block is used within its size and freed once with
        // the layout it has at that moment.
        unsafe {
            let small = Layout::from_size_align(100, 8).unwrap();
            let block = allocator.alloc(small);
            for offset in 0..100 {
                *block.add(offset) = offset as u8;
            }
            let block = allocator.realloc(block, small, layout.size());
            assert!(!block.is_null());
            assert_eq!(block as usize % HUGE_PAGE, 0);
            assert!((1..100).all(|offset| *block.add(offset) == offset as u8));
            for offset in (0..layout.size()).step_by(4096) {
                *block.add(offset) = (offset / 4096) as u8;
            }
            let grown = allocator.realloc(block, layout, 5 * HUGE_PAGE);
            assert!(!grown.is_null());
            assert_eq!(grown as usize % HUGE_PAGE, 0);
            for offset in (0..layout.size()).step_by(4096) {
                assert_eq!(*grown.add(offset), (offset / 4096) as u8);
            }
            let grown_layout = Layout::from_size_align(5 * HUGE_PAGE, 8).unwrap();
            let shrunk = allocator.realloc(grown, grown_layout, 100);
            assert!((0..100).all(|offset| *shrunk.add(offset) == offset as u8));
            allocator.dealloc(shrunk, Layout::from_size_align(100, 8).unwrap());

            let zeroed = allocator.alloc_zeroed(layout);
            assert!((0..layout.size()).all(|offset| *zeroed.add(offset) == 0));
            allocator.dealloc(zeroed, layout);
        }
    }
}
