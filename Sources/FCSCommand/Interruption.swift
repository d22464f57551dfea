import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C while a command samples. The first SIGINT only sets a flag, which the progress
/// callback turns into cancellation: fcs stops before its next network evaluation and the
/// command exits 130 with one line and no file written. The kernel resets the handler as it
/// runs it (SA_RESETHAND), so a second Ctrl-C kills at once.
enum Interruption {
    /// Set by the signal handler, which does nothing else (an atomic store is async-signal-safe).
    private static let flag = Atomic<Bool>(false)

    static var isRequested: Bool { flag.load(ordering: .relaxed) }

    /// Runs `body` with SIGINT caught as above, then puts the previous handling back. An
    /// ignored SIGINT stays ignored (a script's background job: Ctrl-C is not meant for it).
    static func catching<Result>(_ body: () throws -> Result) rethrows -> Result {
        _ = isRequested  // initialises the flag here: the handler must not be what first touches it
        var action = sigaction(), previous = sigaction()
        sigaction(SIGINT, nil, &previous)
        if let handler = previous.__sigaction_handler.sa_handler, unsafeBitCast(handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) {
            return try body()
        }
        action.__sigaction_handler.sa_handler = { _ in Interruption.flag.store(true, ordering: .relaxed) }
        action.sa_flags = Int32(bitPattern: SA_RESETHAND)
        sigemptyset(&action.sa_mask)
        sigaction(SIGINT, &action, nil)
        defer { sigaction(SIGINT, &previous, nil) }
        return try body()
    }
}

/// The command stopped because of Ctrl-C (see ``Interruption``).
struct CommandInterrupted: Error {}
