// Fuzzes the text files of a model folder. The harness keeps copies of the tiny fixture models
// (tiny-sd, and the pixel-space tiny-unet2d) with their weights linked; the input's first byte
// picks one of their configs or tokenizer files, the rest of the input replaces it, and the
// loader runs on that folder. Loading must succeed or throw.
import FCSModels
import FCSSampler
import FuzzSupport

/// A copy of a fixture folder whose text files are real copies and whose weights are links.
struct ModelFolder {
    let path: String
    /// The files a fuzz input may replace, relative to the folder.
    let textFiles: [String]
    let originals: [String: [UInt8]]

    init(copying fixture: String, name: String, textFiles: [String], weightFiles: [String]) {
        path = ScratchFolder.path + "/" + name
        self.textFiles = textFiles
        var originals: [String: [UInt8]] = [:]
        ScratchFolder.makeFolder(path)
        for file in textFiles + weightFiles {
            var folder = path
            for part in file.split(separator: "/").dropLast() {
                folder += "/" + part
                ScratchFolder.makeFolder(folder)
            }
        }
        for file in textFiles {
            originals[file] = ScratchFolder.read(fixture + "/" + file)
            ScratchFolder.write(originals[file]!, to: path + "/" + file)
        }
        for file in weightFiles { ScratchFolder.link(fixture + "/" + file, at: path + "/" + file) }
        self.originals = originals
    }

    func restore(_ file: String) { ScratchFolder.write(originals[file]!, to: path + "/" + file) }
}

let folders = [
    ModelFolder(copying: Fixtures.tinySD, name: "tiny-sd",
                textFiles: ["unet/config.json", "vae/config.json", "text_encoder/config.json", "model_index.json",
                            "scheduler/scheduler_config.json", "tokenizer/vocab.json", "tokenizer/merges.txt"],
                weightFiles: ["unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors",
                              "text_encoder/model.safetensors"]),
    ModelFolder(copying: Fixtures.tinyPixelSpace, name: "tiny-unet2d",
                textFiles: ["unet/config.json", "model_index.json", "scheduler/scheduler_config.json"],
                weightFiles: ["unet/diffusion_pytorch_model.safetensors"]),
]
let choices = folders.flatMap { folder in folder.textFiles.map { (folder, $0) } }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModelFolder(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let (folder, file) = choices[Int(input.byte()) % choices.count]
    ScratchFolder.write(input.rest(), to: folder.path + "/" + file)
    defer { folder.restore(file) }
    blackHole(try? DiffusionModel.load(folder.path))
    return 0
}
