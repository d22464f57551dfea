// Fuzzes the configs a single-file checkpoint's tensors imply (SingleFileConfigInference). The
// input is one tensor per line, its name and its dimensions separated by spaces
// ("model.diffusion_model.input_blocks.0.0.weight 32 4 3 3"). Every input has each config
// inferred from those shapes (microseconds). An input whose first line is `load` also becomes a
// file — the tensors as F16 zeros, whose values do not matter here — that is loaded with no
// config folder, so the inferred configs are checked against each other and built into
// networks (tens of milliseconds: hence not every input). Both must succeed or throw. The seeds
// are the tiny SD 1.x and 2.x fixtures' single files, so mutations start from shapes that load.
import FCSModels
import FuzzSupport

/// Files with more data than this are not loaded: the shapes that matter are small or empty
/// ones (an empty tensor may still claim a huge width).
let maxDataBytes = 1 << 22
let path = ScratchFolder.path + "/model.safetensors"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSingleFileConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    var lines = String(decoding: input.rest(), as: UTF8.self).split(separator: "\n")
    let load = lines.first == "load"
    if load { lines.removeFirst() }
    var tensors: [(name: String, shape: [Int], bytes: Int)] = []
    var shapes: [String: [Int]] = [:]
    for line in lines {
        let fields = line.split(separator: " ")
        guard let name = fields.first.map(String.init), shapes[name] == nil else { continue }
        let shape = fields.dropFirst().compactMap { Int($0) }
        // only shapes a safetensors file can hold, by its reader's rules
        guard let bytes = f16Bytes(shape) else { return 0 }
        tensors.append((name, shape, bytes))
        shapes[name] = shape
    }
    let inferred = SingleFileConfigInference(shapes: shapes, source: "fuzz")
    blackHole(try? inferred.tower())
    blackHole(try? inferred.schedulerConfig())
    blackHole(try? inferred.text())
    blackHole(try? inferred.unet())
    blackHole(try? inferred.vae())
    guard load, tensors.reduce(0, { $0 + $1.bytes }) <= maxDataBytes else { return 0 }

    var entries: [String] = [], offset = 0
    for (name, shape, bytes) in tensors {
        entries.append("\(jsonString(name)):{\"dtype\":\"F16\",\"shape\":\(shape),\"data_offsets\":[\(offset),\(offset + bytes)]}")
        offset += bytes
    }
    let header = "{" + entries.joined(separator: ",") + "}"
    var file = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian, Array.init)
    file += header.utf8
    file += repeatElement(0, count: offset)
    ScratchFolder.write(file, to: path)
    blackHole(try? StableDiffusion.load(path))
    return 0
}

/// The bytes of an F16 tensor of `shape` as SafeTensorsFile counts them (zero dimensions
/// skipped in the overflow check), or nil for a shape it refuses.
func f16Bytes(_ shape: [Int]) -> Int? {
    var bytes = 2
    for dimension in shape {
        guard dimension >= 0 else { return nil }
        let (product, overflow) = bytes.multipliedReportingOverflow(by: max(dimension, 1))
        guard !overflow else { return nil }
        bytes = product
    }
    if shape.contains(0) { return 0 }
    return bytes / 2 < 1 << 31 ? bytes : nil
}
