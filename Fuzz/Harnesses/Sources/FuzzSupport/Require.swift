#if canImport(Glibc)
import Glibc
#endif

/// A harness's check of the library's contract. Unlike `precondition`, it prints its message in
/// release builds, then aborts so that libFuzzer records the input as a crash.
public func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    guard !condition else { return }
    let line = "fuzz harness: contract broken: \(message())\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
    abort()
}
