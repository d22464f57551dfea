// Fuzzes the safetensors header and tensor table: the input is a whole file held in memory.
// Opening must validate it completely, so that reading every tensor it lists afterwards can
// only succeed or throw; a trap or an out-of-bounds read is a bug.
import FCSModels
import FCSTensor
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    guard let file = try? SafeTensorsFile(bytes: bytes, name: "fuzz.safetensors") else { return 0 }
    var checksum: Float = 0
    for name in file.names {
        guard let info = file.info(name) else { continue }
        _ = file.rawBytes(name).reduce(0) { $0 &+ $1 }
        guard let tensor = try? file.tensor(name) else { continue }
        require(tensor.shape == info.shape, "\(name): read as \(tensor.shape), listed as \(info.shape)")
        // touch every element, so that a view past the mapping faults here
        for i in 0..<tensor.count { checksum += tensor.data[i] }
    }
    blackHole(checksum)
    return 0
}
