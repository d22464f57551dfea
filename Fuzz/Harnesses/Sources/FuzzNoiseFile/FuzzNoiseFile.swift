// Fuzzes the noise file a caller names (fcs_sample_params.noise_path): the input's first byte is
// the step count (signed: SamplerNoise is public Swift API), the rest is the file. Reading must
// succeed or throw, and every tensor read must be readable to its end.
import FCSSampler
import FCSTensor
import FuzzSupport

let noisePath = ScratchFolder.path + "/noise.safetensors"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNoiseFile(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let steps = Int(Int8(bitPattern: input.byte()))
    ScratchFolder.write(input.rest(), to: noisePath)
    guard let noise = try? SamplerNoise(contentsOf: noisePath, steps: steps) else { return 0 }
    require(noise.stepNoise.count == steps, "\(steps) steps read as \(noise.stepNoise.count)")
    var checksum: Float = 0
    for tensor in [noise.initialLatent] + noise.stepNoise {
        require(tensor.shape == noise.initialLatent.shape, "step noise \(tensor.shape) ≠ x_T \(noise.initialLatent.shape)")
        for i in 0..<tensor.count { checksum += tensor.data[i] }
    }
    blackHole(checksum)
    return 0
}
