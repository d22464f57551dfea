import FCSModels
import FCSTensor
import Foundation
import XCTest

/// Reads a parity fixture written by tools/make_kernel_fixtures.py (PyTorch 2.13, float32).
struct KernelFixture {
    let file: SafeTensorsFile

    init(_ name: String) throws {
        guard let root = Bundle.module.resourcePath else { throw XCTSkip("no test resources") }
        file = try SafeTensorsFile(path: "\(root)/Fixtures/kernels/\(name).safetensors")
    }

    func tensor(_ name: String) throws -> Tensor { try file.tensor(name) }
    func optionalTensor(_ name: String) throws -> Tensor? { file.contains(name) ? try file.tensor(name) : nil }

    func int(_ key: String) -> Int {
        guard let text = file.metadata[key], let value = Int(text) ?? Double(text).map({ Int($0) }) else {
            fatalError("fixture \(file.path) lacks integer metadata \(key)")
        }
        return value
    }

    func float(_ key: String) -> Float {
        guard let text = file.metadata[key], let value = Float(text) else {
            fatalError("fixture \(file.path) lacks number metadata \(key)")
        }
        return value
    }
}

/// Asserts `actual` equals `expected` in shape and within `relative × max(1, max |expected|)`.
func assertClose(_ actual: Tensor, _ expected: Tensor, relative: Float = 1e-5,
                 _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.shape, expected.shape, "shape \(message)", file: file, line: line)
    guard actual.shape == expected.shape else { return }
    let a = actual.toArray(), e = expected.toArray()
    let scale = max(1, e.map(abs).max() ?? 0)
    var worst: Float = 0, worstIndex = 0
    for i in a.indices {
        let error = abs(a[i] - e[i])
        if !(error <= worst) { (worst, worstIndex) = (error, i) }  // NaN counts as worst
    }
    XCTAssertLessThanOrEqual(worst, relative * scale,
                             "\(message): max |error| \(worst) at \(worstIndex) (got \(a[worstIndex]), want \(e[worstIndex])), scale \(scale)",
                             file: file, line: line)
}
