/// The committed test fixtures the harnesses start from, found from this file's place in the
/// repository (Fuzz/Harnesses/Sources/FuzzSupport/), so a harness runs from any directory.
public enum Fixtures {
    public static let repositoryRoot: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(5)
        return parts.joined(separator: "/")
    }()

    public static let models = repositoryRoot + "/Tests/FCSModelsTests/Fixtures"
    /// The tiny Stable Diffusion folder (diffusers layout) of the Swift tests.
    public static let tinySD = models + "/tiny-sd"
    /// The tiny pixel-space model (DDPMPipeline layout with a UNet2DModel).
    public static let tinyPixelSpace = models + "/tiny-unet2d/plain"
}
