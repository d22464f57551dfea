// fcs_precision: the values of fcs_model_params.precision, their names both ways, and their
// translation into the loader's ComputePrecision (LoadOptionValues.swift has the table).
import CFCS
import FCSModels
import FCSTensor
#if canImport(Glibc)
import Glibc
#endif

/// The compute precision of a C value.
func computePrecision(_ precision: fcs_precision) throws(FCSError) -> ComputePrecision {
    guard let match = ComputePrecision(precision) else {
        throw .invalidArgument("precision \(precision.rawValue) is not an fcs_precision (0 … \(ComputePrecision.allCases.count - 1))")
    }
    return match
}

/// The names, NUL-terminated, that fcs_precision_name returns, in ComputePrecision.allCases' order
/// (allocated once, never written or freed).
nonisolated(unsafe) private let precisionNames: [UnsafePointer<CChar>] = ComputePrecision.allCases.map { UnsafePointer(strdup($0.rawValue)!) }

@c(fcs_precision_name)
public func fcsPrecisionName(_ precision: fcs_precision) -> UnsafePointer<CChar>? {
    ComputePrecision.allCases.firstIndex { $0.cValue == precision }.map { precisionNames[$0] }
}

@c(fcs_precision_from_name)
public func fcsPrecisionFromName(_ name: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<fcs_precision>?) -> fcs_status {
    withStatus { () throws(FCSError) in
        guard let out else { throw .invalidArgument("out_precision is NULL") }
        let text = try string(name, name: "precision name")
        guard let match = ComputePrecision(rawValue: text) else {
            throw .invalidArgument("precision \"\(text)\" is not one of \(ComputePrecision.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        out.pointee = match.cValue
    }
}
