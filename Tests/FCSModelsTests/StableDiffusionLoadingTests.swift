import FCSModels
import FCSTensor
import Foundation
import XCTest

/// Loading whole models: diffusers folder (fp32 and fp16 files), single file, hub cache, refusals.
final class StableDiffusionLoadingTests: TemporaryFolderTestCase {
    private var tinySD: String { Bundle.module.resourcePath! + "/Fixtures/tiny-sd" }

    /// ε for the reference inputs at t = 500, and diffusers' ε.
    private func epsilon(_ model: StableDiffusion) throws -> (out: [Float], expected: [Float]) {
        let reference = try SafeTensorsFile(path: tinySD + "/reference.safetensors")
        let arena = ScratchArena()
        let ids = try reference.tensor("text_encoder.input_ids")
        let rows = (0..<2).map { b in (0..<77).map { Int32(ids.data[b * 77 + $0]) } }
        let text = try model.textEncoder(rows, in: arena)
        let out = model.unet(try reference.tensor("unet.b2.sample"), timestep: 500, encoderHiddenStates: text, in: arena).toArray()
        return (out, try reference.tensor("unet.b2.t500.out").toArray())
    }

    /// ε's largest difference from diffusers, and diffusers' largest |ε|.
    private func epsilonError(_ model: StableDiffusion) throws -> (error: Float, scale: Float) {
        let (out, expected) = try epsilon(model)
        return (zip(out, expected).map { abs($0 - $1) }.max()!, expected.map(abs).max()!)
    }

    func test_diffusersFolder_loadsAndMatchesDiffusers() throws {
        let model = try StableDiffusion.load(tinySD, options: StableDiffusion.LoadOptions(compute: .float32))
        XCTAssertLessThanOrEqual(try epsilonError(model).error, 1e-4)
        let reference = try SafeTensorsFile(path: tinySD + "/reference.safetensors")
        let decoded = try model.vae.resident().decode(try reference.tensor("vae.dec.latent"), in: ScratchArena()).toArray()
        XCTAssertLessThanOrEqual(zip(decoded, try reference.tensor("vae.dec.out").toArray()).map { abs($0 - $1) }.max()!, 1e-4)
        XCTAssertEqual(model.tokenizer("a photograph of an astronaut riding a horse").count, 77)
    }

    /// The tiny SD folder copied to `name` and loaded from there, so that a test may remove its files.
    private func loadedCopy(_ name: String) throws -> (model: StableDiffusion, folder: String) {
        let folder = temporary.appendingPathComponent(name).path
        try FileManager.default.copyItem(atPath: tinySD, toPath: folder)
        return (try StableDiffusion.load(folder, options: StableDiffusion.LoadOptions(compute: .float32)), folder)
    }

    func test_textEncoder_isBuiltFromItsFileForEachNewPrompt_withTheBitsOfTheModelItself() throws {
        let (model, folder) = try loadedCopy("text")
        let file = folder + "/text_encoder/model.safetensors", arena = ScratchArena()
        let direct = try CLIPTextModel(config: model.textEncoder.config, weights: WeightReader(file: SafeTensorsFile(path: file)))
        let cat = [model.tokenizer("a photo of a cat")]
        XCTAssertEqual(try model.textEncoder(cat, in: arena).toArray(), try direct(cat, in: arena).toArray())
        let both = try model.textEncoder.encode([cat, [model.tokenizer("")]], in: arena)
        XCTAssertEqual(both.map { $0.toArray() }, [try direct(cat, in: arena).toArray(), try direct([model.tokenizer("")], in: arena).toArray()])
        // Kept: the last prompts' states. Not kept: the encoder, which a new prompt reads again.
        _ = try model.textEncoder([model.tokenizer("a dog")], in: arena)
        try FileManager.default.removeItem(atPath: file)
        XCTAssertEqual(try model.textEncoder(cat, in: arena).toArray(), try direct(cat, in: arena).toArray())
        XCTAssertThrowsError(try model.textEncoder([model.tokenizer("a horse")], in: arena)) {
            XCTAssertEqual(($0 as? FCSError)?.code, .io)
            XCTAssertTrue("\($0)".contains("text_encoder"), "\($0)")
        }
    }

    func test_vae_isBuiltFromItsFileForEachUse_sharedWithinAHold_withTheBitsOfTheModelItself() throws {
        let (model, folder) = try loadedCopy("vae")
        let file = folder + "/vae/diffusion_pytorch_model.safetensors", arena = ScratchArena()
        let direct = try AutoencoderKL(config: model.vae.config, weights: WeightReader(file: SafeTensorsFile(path: file)))
        let latents = try SafeTensorsFile(path: tinySD + "/reference.safetensors").tensor("vae.dec.latent")
        let expected = direct.decode(latents, in: arena).toArray()
        XCTAssertEqual(try model.vae.withResident { $0.decode(latents, in: arena).toArray() }, expected)
        try model.vae.withResident { (held) throws(FCSError) in
            for variant in [file, file.replacingOccurrences(of: ".safetensors", with: ".fp16.safetensors")] {
                try? FileManager.default.removeItem(atPath: variant)
            }
            // a use inside the hold shares the held autoencoder: nothing is read again
            XCTAssertEqual(try model.vae.withResident { $0.decode(latents, in: arena).toArray() }, expected)
            XCTAssertEqual(held.decode(latents, in: arena).toArray(), expected)
        }
        // once the hold ends the autoencoder is gone, and the next use reads its file again
        XCTAssertThrowsError(try model.vae.withResident { _ in }) {
            XCTAssertEqual(($0 as? FCSError)?.code, .io)
            XCTAssertTrue("\($0)".contains("vae"), "\($0)")
        }
    }

    func test_fp16VariantFiles_loadIntoFloat16Storage() throws {
        var options = StableDiffusion.LoadOptions(compute: .float32)
        options.variant = .fp16
        options.precision = .float16
        XCTAssertThrowsError(try StableDiffusion.load(tinySD, options: options)) {  // the text encoder has no fp16 file
            XCTAssertTrue("\($0)".contains("text_encoder") && "\($0)".contains("model.fp16.safetensors"), "\($0)")
        }
        let folder = temporary.appendingPathComponent("half")
        try FileManager.default.copyItem(atPath: tinySD, toPath: folder.path)
        try FileManager.default.removeItem(atPath: folder.path + "/unet/diffusion_pytorch_model.safetensors")
        options.variant = .automatic  // the unet folder now only has the fp16 file: automatic takes it
        let model = try StableDiffusion.load(folder.path, options: options)
        let (error, scale) = try epsilonError(model)
        XCTAssertLessThanOrEqual(error, 1e-2 * scale)
    }

    func test_layerPrecision_resolvesComputeWithTheWeightsSetting() {
        for weights in [WeightPrecision.float32, .float16] {
            XCTAssertEqual(ComputePrecision.automatic.layerPrecision(weights: weights),
                           WeightPrecision.hasBFloat16Instructions ? .bfloat16 : weights, "automatic: bf16 where this CPU has it fast")
            XCTAssertEqual(ComputePrecision.float32.layerPrecision(weights: weights), weights)
            XCTAssertEqual(ComputePrecision.bfloat16.layerPrecision(weights: weights), .bfloat16)
        }
        var options = StableDiffusion.LoadOptions()
        XCTAssertEqual(options.compute, .automatic)
        options.precision = .float16
        XCTAssertEqual(options.layerPrecision, WeightPrecision.hasBFloat16Instructions ? .bfloat16 : .float16)
        options.compute = .float32
        XCTAssertEqual(options.layerPrecision, .float16)
        options.compute = .bfloat16
        XCTAssertEqual(options.layerPrecision, .bfloat16)
        XCTAssertEqual(ComputePrecision.allCases.map(\.rawValue), ["auto", "fp32", "bf16"])
    }

    func test_computePrecision_reachesFolderAndSingleFileLoads() throws {
        for path in [tinySD, tinySD + "/tiny-sd.safetensors"] {
            var options = StableDiffusion.LoadOptions()
            options.configFolder = tinySD
            var errors: [ComputePrecision: Double] = [:]
            for compute in ComputePrecision.allCases {
                options.compute = compute
                let (out, expected) = try epsilon(StableDiffusion.load(path, options: options))
                let difference = zip(out, expected).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +)
                errors[compute] = (difference / expected.map { Double($0) * Double($0) }.reduce(0, +)).squareRoot()
            }
            XCTAssertEqual(errors[.automatic], errors[WeightPrecision.hasBFloat16Instructions ? .bfloat16 : .float32], path)
            XCTAssertLessThanOrEqual(errors[.float32]!, 1e-4, path)
            // relative ‖ε − ε_diffusers‖: the bf16 gate's 2e-2 (`fcs bench precision`)
            XCTAssertGreaterThan(errors[.bfloat16]!, 1e-4, "\(path): bf16 compute changed nothing")
            XCTAssertLessThanOrEqual(errors[.bfloat16]!, 2e-2, path)
        }
    }

    func test_singleFile_withItsConfigFolder_equalsTheFolder() throws {
        var options = StableDiffusion.LoadOptions(compute: .float32)
        options.configFolder = tinySD
        let single = try StableDiffusion.load(tinySD + "/tiny-sd.safetensors", options: options)
        XCTAssertLessThanOrEqual(try epsilonError(single).error, 1e-4)
        // without configs they are inferred, but the tiny widths belong to no SD family: a clear error
        XCTAssertThrowsError(try StableDiffusion.load(tinySD + "/tiny-sd.safetensors")) {
            XCTAssertTrue("\($0)".contains("tiny-sd.safetensors") && "\($0)".contains("config folder"), "\($0)")
        }
    }

    func test_hubCacheName_resolvesToTheSnapshot() throws {
        let repository = temporary.appendingPathComponent("hub/models--fcs-tests--tiny-sd")
        try FileManager.default.createDirectory(at: repository.appendingPathComponent("snapshots"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: repository.appendingPathComponent("refs"), withIntermediateDirectories: true)
        try "0123abcd\n".write(to: repository.appendingPathComponent("refs/main"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: repository.path + "/snapshots/0123abcd", withDestinationPath: tinySD)
        let environment = ["HF_HUB_CACHE": temporary.path + "/hub"]
        XCTAssertEqual(try ModelLocation.resolve("fcs-tests/tiny-sd", environment: { environment[$0] }),
                       .diffusersFolder(repository.path + "/snapshots/0123abcd"))
        XCTAssertThrowsError(try ModelLocation.resolve("fcs-tests/absent", environment: { environment[$0] })) {
            XCTAssertTrue("\($0)".contains("fcs fetch fcs-tests/absent") && "\($0)".contains(self.temporary.path), "\($0)")
        }
        // HF_HOME and the default location, as huggingface_hub finds them
        XCTAssertThrowsError(try ModelLocation.resolve("a/b", environment: { ["HF_HOME": "/x"][$0] })) {
            XCTAssertTrue("\($0)".contains("/x/hub"), "\($0)")
        }
        XCTAssertThrowsError(try ModelLocation.resolve("a/b", environment: { ["HOME": "/home/u"][$0] })) {
            XCTAssertTrue("\($0)".contains("/home/u/.cache/huggingface/hub"), "\($0)")
        }
    }

    func test_pickleAndMissingModels_areRefusedWithReasons() throws {
        for name in ["sd-v1-5.ckpt", "model.bin", "weights.pt"] {
            XCTAssertThrowsError(try StableDiffusion.load(temporary.path + "/" + name)) {
                XCTAssertEqual(($0 as? FCSError)?.code, .format)
                XCTAssertTrue("\($0)".contains("pickle"), "\($0)")
            }
        }
        XCTAssertThrowsError(try StableDiffusion.load(temporary.path + "/nothing/here")) {
            XCTAssertEqual(($0 as? FCSError)?.code, .io)
        }
        XCTAssertThrowsError(try StableDiffusion.load(temporary.path)) {  // a folder, but no model_index.json
            XCTAssertTrue("\($0)".contains("model_index.json"), "\($0)")
        }
    }

    func test_leftoverTensors_areReported() throws {
        let folder = temporary.appendingPathComponent("extra")
        try FileManager.default.copyItem(atPath: tinySD, toPath: folder.path)
        let unetPath = folder.path + "/unet/diffusion_pytorch_model.safetensors"
        let original = try SafeTensorsFile(path: unetPath)
        var tensors: [String: Tensor] = [:]
        for name in original.names { tensors[name] = try original.tensor(name) }
        tensors["down_blocks.9.resnets.0.conv1.weight"] = Tensor(zeros: [1])
        try SafeTensorsWriter.write(tensors, to: unetPath)
        XCTAssertThrowsError(try StableDiffusion.load(folder.path)) {
            XCTAssertTrue("\($0)".contains("down_blocks.9.resnets.0.conv1.weight"), "\($0)")
        }
    }
}
