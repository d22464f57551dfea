import _FCSKernels

/// The process's memory as the system sees it.
public enum SystemMemory {
    /// Hands the heap's freed memory back to the system (glibc keeps freed blocks below its mmap
    /// threshold for reuse, so after a large part of a model is released its pages would stay
    /// resident under the networks that run next).
    public static func returnFreedMemory() { fcs_return_freed_memory() }
}
