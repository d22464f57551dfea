import FCSModels
import FCSTensor
import Foundation
import XCTest

/// The SD 2.x model shape against diffusers on tools/make_tiny_sd2.py's tiny model: the tokenizer's
/// "!" padding, the GELU text tower with its penultimate-layer convention, the UNet's linear
/// projections, per-level head counts and upcast attention, and the single file's OpenCLIP layout.
final class StableDiffusion2Tests: TemporaryFolderTestCase {
    private var tinySD2: String { Bundle.module.resourcePath! + "/Fixtures/tiny-sd2" }

    private func ids(_ reference: SafeTensorsFile) throws -> [[Int32]] {
        let ids = try reference.tensor("text_encoder.input_ids")
        return (0..<2).map { b in (0..<77).map { Int32(ids.data[b * 77 + $0]) } }
    }

    /// The text states of the reference prompts and the UNet's output at each reference timestep.
    private func outputs(_ model: StableDiffusion) throws -> (text: [Float], unet: [Int: [Float]]) {
        let reference = try SafeTensorsFile(path: tinySD2 + "/reference.safetensors"), arena = ScratchArena()
        let states = try model.textEncoder(try ids(reference), in: arena)
        let prompt = Tensor(shape: [1, 77, states.shape[2]], values: Array(states.toArray().suffix(77 * states.shape[2])))
        var unet: [Int: [Float]] = [:]
        for t in [999, 500, 0] {
            unet[t] = model.unet(try reference.tensor("unet.sample"), timestep: Float(t), encoderHiddenStates: prompt, in: arena).toArray()
        }
        return (states.toArray(), unet)
    }

    private func assertClose(_ a: [Float], _ b: [Float], _ tolerance: Float, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let error = zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThanOrEqual(error, tolerance, "\(what): max |error| \(error)", file: file, line: line)
    }

    func test_diffusersFolder_matchesDiffusers() throws {
        let model = try StableDiffusion.load(tinySD2, options: StableDiffusion.LoadOptions(compute: .float32))
        let reference = try SafeTensorsFile(path: tinySD2 + "/reference.safetensors")
        XCTAssertEqual(model.tokenizer.padTokenID, 0)
        XCTAssertEqual([model.tokenizer(""), model.tokenizer("a photograph of an astronaut riding a horse")], try ids(reference))
        XCTAssertEqual(model.schedulerConfig.predictionType, "v_prediction")
        XCTAssertTrue(model.unet.config.useLinearProjection && model.unet.config.upcastAttention)
        XCTAssertEqual(model.unet.config.attentionHeadDim, [2, 2, 3, 3])
        XCTAssertEqual(model.textEncoder.config.hiddenAct, "gelu")
        let (text, unet) = try outputs(model)
        assertClose(text, try reference.tensor("text_encoder.last_hidden_state").toArray(), 1e-4, "last_hidden_state")
        for t in [999, 500, 0] {
            assertClose(unet[t]!, try reference.tensor("unet.t\(t).out").toArray(), 1e-4, "UNet v at t = \(t)")
        }
    }

    func test_singleFile_withItsConfigFolder_equalsTheFolder() throws {
        var options = StableDiffusion.LoadOptions(compute: .float32)
        options.configFolder = tinySD2
        let single = try StableDiffusion.load(tinySD2 + "/tiny-sd2.safetensors", options: options)
        let (text, unet) = try outputs(single), folder = try outputs(try StableDiffusion.load(tinySD2, options: StableDiffusion.LoadOptions(compute: .float32)))
        XCTAssertEqual(text, folder.text)
        XCTAssertEqual(unet, folder.unet)
        XCTAssertEqual(single.schedulerConfig.predictionType, "v_prediction")
        XCTAssertEqual(single.tokenizer.padTokenID, 0)
    }

    /// SD 2.1's every single-file name maps as diffusers' converters map it (tools/make_sd21_manifest.py).
    func test_everySD21Key_mapsAsDiffusersMapsIt() throws {
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Bundle.module.resourcePath! + "/Fixtures/manifest/sd21_manifest.json"))) as! [String: Any]
        let expected = manifest["single_file_to_diffusers"] as! [String: Any], unused = manifest["single_file_unused"] as! [String]
        let diffusers = manifest["diffusers"] as! [String: [String: Any]], single = manifest["single_file"] as! [String: Any]
        XCTAssertEqual(single.count, 1228)
        XCTAssertEqual(expected.count + unused.count, single.count)
        var mapped: [SingleFileCheckpoint.Component: [String]] = [:]
        for (key, target) in expected {
            let result = SingleFileCheckpoint.mapping(of: key, textLayers: 23)
            switch (result, target) {
            case (.tensor(let component, let name)?, let name2 as String):
                XCTAssertEqual(name, name2, key)
                mapped[component, default: []].append(name)
            case (.stacked(let component, let names)?, let names2 as [String]):
                XCTAssertEqual(names, names2, key)
                mapped[component, default: []] += names
            default:
                XCTFail("\(key): \(String(describing: result)), diffusers: \(target)")
            }
        }
        for key in unused { XCTAssertEqual(SingleFileCheckpoint.mapping(of: key, textLayers: 23), .unused, key) }
        for component in SingleFileCheckpoint.Component.allCases {
            let names = mapped[component] ?? []
            XCTAssertEqual(names.count, Set(names).count, "\(component.rawValue): a name reached twice")
            XCTAssertEqual(Set(names), Set(diffusers[component.rawValue]!.keys), component.rawValue)
        }
        // a layer beyond the last one is no SD 2 tower's
        XCTAssertNil(SingleFileCheckpoint.mapping(of: "cond_stage_model.model.transformer.resblocks.24.ln_1.weight", textLayers: 23))
    }

    /// upcast_attention keeps the UNet's attention in float32 when the layers run in bf16, and
    /// changes nothing in fp32 (as in diffusers, where it only matters below float32).
    func test_upcastAttention_keepsBF16AttentionInFloat32() throws {
        let plain = temporary.appendingPathComponent("plain").path
        try FileManager.default.copyItem(atPath: tinySD2, toPath: plain)
        let configPath = plain + "/unet/config.json"
        let config = try String(contentsOfFile: configPath, encoding: .utf8)
        XCTAssertTrue(config.contains(#""upcast_attention": true"#))
        try config.replacingOccurrences(of: #""upcast_attention": true"#, with: #""upcast_attention": false"#)
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        func unet(_ folder: String, _ compute: ComputePrecision) throws -> [Int: [Float]] {
            var options = StableDiffusion.LoadOptions(compute: .float32)
            options.compute = compute
            return try outputs(try StableDiffusion.load(folder, options: options)).unet
        }
        XCTAssertEqual(try unet(tinySD2, .float32), try unet(plain, .float32))
        XCTAssertNotEqual(try unet(tinySD2, .bfloat16), try unet(plain, .bfloat16))
    }

    func test_fusedProjections_misshaped_areErrorsNamingTheKey() throws {
        let original = try SafeTensorsFile(path: tinySD2 + "/tiny-sd2.safetensors")
        var tensors: [String: Tensor] = [:]
        for name in original.names where original.info(name)?.dtype == .F32 { tensors[name] = try original.tensor(name) }
        let key = "cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight"
        tensors[key] = Tensor(zeros: [64, 32])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fcs-sd2-\(UUID()).safetensors").path
        defer { unlink(path) }
        try SafeTensorsWriter.write(tensors, to: path)
        var options = StableDiffusion.LoadOptions(compute: .float32)
        options.configFolder = tinySD2
        assertFCSError(try StableDiffusion.load(path, options: options), naming: [key, "q_proj", "[96, 32]"], "in_proj of 2 parts")
    }
}
