//! Process-level allocator settings: a property of the binary, not of the model.

/// Makes glibc keep freed memory for reuse instead of handing every large block back to the
/// kernel: without it each activation of the paper preset (tens to hundreds of MB) is a fresh
/// `mmap`, page-faulted and zeroed by the kernel on first touch, and `munmap`ped when dropped.
/// Process-wide; results do not change, only the system time. Returns whether the settings were
/// applied (false off glibc).
pub fn keep_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        const M_TRIM_THRESHOLD: i32 = -1;
        const M_MMAP_MAX: i32 = -4;
        // SAFETY: mallopt only changes allocator tunables; both values are valid for them.
        unsafe { mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, i32::MAX) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
