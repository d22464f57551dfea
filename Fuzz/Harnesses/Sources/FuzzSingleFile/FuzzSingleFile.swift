// Fuzzes the single-file (CompVis/LDM) checkpoint key mapping. The input is two signed bytes,
// the UNet's layers_per_block and the VAE's level count (both come from a config the caller
// supplies), then one checkpoint key per line. Each key is mapped to its diffusers name, then a
// checkpoint holding the first few of them (as empty tensors: parsing a large header would
// dominate the run time) is split into its components' readers.
import FCSModels
import FCSTensor
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSingleFile(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let layersPerBlock = Int(Int8(bitPattern: input.byte())), vaeLevels = Int(Int8(bitPattern: input.byte()))
    let keys = Set(String(decoding: input.rest(), as: UTF8.self).split(separator: "\n").map(String.init))
    for key in keys {
        blackHole(SingleFileCheckpoint.diffusersName(of: key, layersPerBlock: layersPerBlock, vaeLevels: vaeLevels))
    }
    let header = "{" + keys.sorted().prefix(8).map { "\(jsonString($0)):{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}" }
        .joined(separator: ",") + "}"
    var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian, Array.init)
    bytes += header.utf8
    guard let file = try? bytes.withUnsafeBytes({ buffer throws(FCSError) in try SafeTensorsFile(bytes: buffer, name: "fuzz") })
    else { return 0 }
    for component in SingleFileCheckpoint.Component.allCases {
        let weights = SingleFileCheckpoint.weights(file, component: component, layersPerBlock: layersPerBlock, vaeLevels: vaeLevels)
        blackHole(weights.unreadTensors())
    }
    return 0
}
