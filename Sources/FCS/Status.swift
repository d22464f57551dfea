// The C ABI's error and logging plumbing: every entry point runs its body through `withStatus`,
// which turns a thrown FCSError into an fcs_status plus this thread's message (fcs_last_error),
// so no Swift error ever crosses the boundary. Entry points validate their arguments before
// touching them, because a Swift trap would kill the host process (pitfall P21).
import CFCS
import FCSTensor
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Per-thread storage of the last error message: a malloc'ed C string, freed with the thread.
private let lastErrorKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { free($0) }
    return key
}()

func setLastError(_ message: String) {
    free(pthread_getspecific(lastErrorKey))
    pthread_setspecific(lastErrorKey, strdup(oneLine(message)))
}

/// `message` with control characters (a caller's path may hold a newline) written as escapes,
/// so that fcs_last_error is always one line of text.
func oneLine(_ message: String) -> String {
    var out = ""
    for scalar in message.unicodeScalars {
        if scalar.properties.generalCategory == .control { out += scalar.escaped(asASCII: true) } else { out.unicodeScalars.append(scalar) }
    }
    return out
}

/// Runs `body`; a thrown FCSError becomes its status and this thread's last error, which a
/// success clears.
func withStatus(_ body: () throws(FCSError) -> Void) -> fcs_status {
    do {
        try body()
        setLastError("")
        return FCS_OK
    } catch {
        setLastError(error.message)
        log(FCS_LOG_ERROR, oneLine(error.message))
        return fcs_status(rawValue: error.code.rawValue)
    }
}

private struct LogSink: @unchecked Sendable {  // the user data pointer is the caller's business
    var callback: fcs_log_callback?
    var userData: UnsafeMutableRawPointer?
}

private let logSink = Mutex(LogSink())

func log(_ level: fcs_log_level, _ text: @autoclosure () -> String) {
    let sink = logSink.withLock { $0 }
    guard let callback = sink.callback else { return }
    text().withCString { callback(level, $0, sink.userData) }
}

/// "MAJOR.MINOR.PATCH" from the header's FCS_VERSION_* macros (the one place the version is
/// written), NUL-terminated, allocated once and never freed.
nonisolated(unsafe) private let version = UnsafePointer(strdup("\(FCS_VERSION_MAJOR).\(FCS_VERSION_MINOR).\(FCS_VERSION_PATCH)")!)

@c(fcs_version)
public func fcsVersion() -> UnsafePointer<CChar> { version }

@c(fcs_last_error)
public func fcsLastError() -> UnsafePointer<CChar> {
    if let message = pthread_getspecific(lastErrorKey) { return UnsafePointer(message.assumingMemoryBound(to: CChar.self)) }
    return UnsafeRawPointer(("" as StaticString).utf8Start).assumingMemoryBound(to: CChar.self)
}

@c(fcs_set_log_callback)
public func fcsSetLogCallback(_ callback: fcs_log_callback?, _ userData: UnsafeMutableRawPointer?) {
    logSink.withLock { $0 = LogSink(callback: callback, userData: userData) }
}

@c(fcs_set_num_threads)
public func fcsSetNumThreads(_ threads: Int32) -> fcs_status {
    withStatus { () throws(FCSError) in
        guard (1...1024).contains(threads) else { throw .invalidArgument("n_threads must be 1 … 1024, not \(threads)") }
        ComputeThreads.count = Int(threads)
    }
}

@c(fcs_get_num_threads)
public func fcsGetNumThreads() -> Int32 { Int32(ComputeThreads.count) }
