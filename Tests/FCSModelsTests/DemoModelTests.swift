import FCSModels
import FCSTensor
import XCTest

/// The demo model compiled into fcs (Sources/_FCSResources/demo-model/MODEL_CARD.md).
final class DemoModelTests: XCTestCase {
    func test_embeddedDemoModel_loadsCompletely_andDenoises() throws {
        let unet = try DemoModel.unet()
        XCTAssertEqual(unet.config.sampleSize, 64)
        XCTAssertEqual(unet.config.blockOutChannels, [32, 64, 128, 160])
        var random = NormalGenerator(seed: 1)
        let noisy = random.tensor([1, 3, 64, 64])
        let epsilon = unet(noisy, timesteps: [999], in: ScratchArena())
        XCTAssertEqual(epsilon.shape, [1, 3, 64, 64])
        // at t = 999 x_t is almost pure noise, so a trained model predicts it back closely
        let error = zip(epsilon.toArray(), noisy.toArray()).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / Float(noisy.count)
        XCTAssertLessThan(error, 0.05, "ε-MSE at t = 999")
    }
}
