import FCSModels
import FCSSampler
import FCSTensor
import XCTest

/// The conditioning value: guidance's batch of two from every part, the prompt encoder's output.
final class ConditioningTests: XCTestCase {
    func test_guidanceBatch_stacksEveryPart_unconditionalFirst() {
        let arena = ScratchArena()
        let prompt = Conditioning(textStates: Tensor(shape: [1, 2, 3], values: (0..<6).map(Float.init)),
                                  pooledEmbedding: Tensor(shape: [1, 2], values: [10, 11]), timeInputs: Tensor(shape: [1, 3], values: [1, 2, 3]))
        let empty = Conditioning(textStates: Tensor(shape: [1, 2, 3], values: (0..<6).map { -Float($0) }),
                                 pooledEmbedding: Tensor(shape: [1, 2], values: [-10, -11]), timeInputs: Tensor(shape: [1, 3], values: [1, 2, 3]))
        let batch = prompt.guidanceBatch(unconditional: empty, in: arena)
        XCTAssertEqual(batch.textStates.shape, [2, 2, 3])
        XCTAssertEqual(batch.textStates.toArray(), empty.textStates.toArray() + prompt.textStates.toArray())
        XCTAssertEqual(batch.pooledEmbedding?.toArray(), [-10, -11, 10, 11])
        XCTAssertEqual(batch.timeInputs?.shape, [2, 3])
        // text states alone (SD 1.x / 2.x): nothing else appears
        let plain = Conditioning(textStates: prompt.textStates).guidanceBatch(unconditional: Conditioning(textStates: empty.textStates), in: arena)
        XCTAssertNil(plain.pooledEmbedding)
        XCTAssertNil(plain.timeInputs)
    }

    func test_clipPromptEncoder_givesTheTextEncodersStates() throws {
        let model = try TinySD.model.get()
        let encoder = try XCTUnwrap(model.diffusionModel.promptEncoder)
        let encoded = try encoder.encode(["a cat", ""], in: ScratchArena())
        XCTAssertEqual(encoded.count, 2)
        for (conditioning, prompt) in zip(encoded, ["a cat", ""]) {
            XCTAssertEqual(conditioning.textStates.toArray(), try model.textEncoder([model.tokenizer(prompt)], in: ScratchArena()).toArray())
            XCTAssertNil(conditioning.pooledEmbedding)
        }
    }
}
