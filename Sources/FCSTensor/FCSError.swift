/// The one error type of fcs. Its code maps 1:1 to the C ABI's `fcs_status`; its message says
/// what went wrong and, where it can, what to do about it.
public struct FCSError: Error, CustomStringConvertible, Sendable {
    public enum Code: Int32, Sendable {
        case invalidArgument = -1
        case io = -2
        case format = -3
        case outOfMemory = -4
        case `internal` = -5
        case cancelled = 1
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public static func invalidArgument(_ message: String) -> FCSError { FCSError(.invalidArgument, message) }
    public static func io(_ message: String) -> FCSError { FCSError(.io, message) }
    public static func format(_ message: String) -> FCSError { FCSError(.format, message) }
    public static func outOfMemory(_ message: String) -> FCSError { FCSError(.outOfMemory, message) }
    public static func `internal`(_ message: String) -> FCSError { FCSError(.internal, message) }

    public var description: String { message }
}
