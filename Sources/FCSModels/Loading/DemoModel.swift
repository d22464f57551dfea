// fcs's demo model, compiled into the library so that `--model demo` works anywhere, with no
// download: a small pixel-space UNet2DModel trained on real photos from Debian and PyPI packages
// (tools/train_demo_model.py; card, data and licences in Sources/_FCSResources/demo-model/).
import FCSTensor
import FoundationEssentials
import _FCSResources

public enum DemoModel {
    /// The name that selects it wherever a model is named (unless a file or folder has that name).
    public static let name = "demo"

    /// Its denoiser, from the bytes compiled into fcs, built in `precision` (a loader's
    /// ``StableDiffusion/LoadOptions/layerPrecision``), with `loras` merged (UNet keys only).
    public static func unet(precision: WeightPrecision = .float32, loras references: [LoRAReference] = []) throws(FCSError) -> UNet2DModel {
        let configBytes = UnsafeRawBufferPointer(start: fcs_demo_unet_config(), count: fcs_demo_unet_config_size())
        let config: UNet2DModelConfig
        do {
            config = try decodeConfig(configBytes, source: "the demo model's config")
        } catch {
            throw .internal(error.message)  // fcs's own data: a defect of this build, not a user's file
        }
        let file = try SafeTensorsFile(bytes: UnsafeRawBufferPointer(start: fcs_demo_unet_weights(), count: fcs_demo_unet_weights_size()),
                                       name: "the demo model")
        let loras = try LoRAMerge(references)
        let weights = WeightReader(file: file).storing(precision).merging(loras, as: .unet)
        let unet = try UNet2DModel(config: config, weights: weights)
        guard weights.unreadTensors().isEmpty else { throw .internal("the demo model has tensors its config has no place for") }
        try loras.requireAllMerged()
        return unet
    }
}
