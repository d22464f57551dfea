// fcs_precision: the values of fcs_model_params.precision, their names both ways, and their
// translation into the loader's ComputePrecision.
import CFCS
import FCSModels
import FCSTensor
#if canImport(Glibc)
import Glibc
#endif

/// fcs_precision's values, in the header's order.
private let precisions: [(fcs_precision, ComputePrecision)] = [
    (FCS_PRECISION_AUTO, .automatic), (FCS_PRECISION_FP32, .float32), (FCS_PRECISION_BF16, .bfloat16),
]

/// The compute precision of a C value.
func computePrecision(_ precision: fcs_precision) throws(FCSError) -> ComputePrecision {
    guard let match = precisions.first(where: { $0.0 == precision }) else {
        throw .invalidArgument("precision \(precision.rawValue) is not an fcs_precision (0 … \(precisions.count - 1))")
    }
    return match.1
}

/// The names, NUL-terminated, that fcs_precision_name returns (allocated once, never written or freed).
nonisolated(unsafe) private let precisionNames: [UnsafePointer<CChar>] = precisions.map { UnsafePointer(strdup($0.1.rawValue)!) }

@c(fcs_precision_name)
public func fcsPrecisionName(_ precision: fcs_precision) -> UnsafePointer<CChar>? {
    precisions.firstIndex { $0.0 == precision }.map { precisionNames[$0] }
}

@c(fcs_precision_from_name)
public func fcsPrecisionFromName(_ name: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<fcs_precision>?) -> fcs_status {
    withStatus { () throws(FCSError) in
        guard let out else { throw .invalidArgument("out_precision is NULL") }
        let text = try string(name, name: "precision name")
        guard let match = precisions.first(where: { $0.1.rawValue == text }) else {
            throw .invalidArgument("precision \"\(text)\" is not one of \(ComputePrecision.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        out.pointee = match.0
    }
}
