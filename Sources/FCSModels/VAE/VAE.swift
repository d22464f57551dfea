import FCSTensor
import Synchronization

/// Stable Diffusion's VAE as a loaded model keeps it: an ``AutoencoderKL`` that is built from its
/// weights when pixels need encoding or decoding and released when the last user lets it go, so
/// that its weights (about 160 MB in 16 bits for SD 1.x) are not held while the UNet samples. An
/// inpainting builds it for its encode and again for its decode (reading its weights again: up
/// to about a second at SD 1.x's size); a task whose inner loop runs the VAE (super-resolution
/// without a tiny autoencoder) holds one through the sampling, and every use inside that hold
/// shares it.
///
/// The results are those of the ``AutoencoderKL`` itself, bit for bit. The weights are read again
/// from where the model was loaded, so those files must stay in place while it is used.
public final class VAE: Sendable {
    public let config: AutoencoderKLConfig
    private let build: @Sendable () throws(FCSError) -> AutoencoderKL
    /// The autoencoder while some ``withResident(_:)`` holds it. The lock also keeps two threads
    /// from building it at once.
    private let shared = Mutex<WeakResident>(WeakResident())

    /// Builds the model from `weights` (so that a file that does not fit the config fails here),
    /// then lets it go.
    /// - Parameter reopen: a reader over the same weights, for each later build.
    public init(config: AutoencoderKLConfig, weights: WeightReader,
                reopen: @escaping @Sendable () throws(FCSError) -> WeightReader) throws(FCSError) {
        self.config = config
        _ = try AutoencoderKL(config: config, weights: weights)
        build = { () throws(FCSError) in try AutoencoderKL(config: config, weights: reopen()) }
        SystemMemory.returnFreedMemory()
    }

    /// Runs `body` on the autoencoder: the one another caller holds now, or one built for this
    /// call and released after it (its freed memory handed back to the system, as the text
    /// encoder's is: glibc would otherwise keep the smaller blocks for reuse).
    public func withResident<Result>(_ body: (AutoencoderKL) throws(FCSError) -> Result) throws(FCSError) -> Result {
        var built = false
        let result: Result
        do {
            let resident = try shared.withLock { (shared) throws(FCSError) -> Resident in
                if let live = shared.resident { return live }
                let fresh = Resident(try build())
                shared.resident = fresh
                built = true
                return fresh
            }
            result = try body(resident.autoencoder)
        }
        if built { SystemMemory.returnFreedMemory() }  // the autoencoder built for this call is gone, unless another call took it up
        return result
    }

    /// A built autoencoder for a caller that keeps it as long as it likes (benchmarks, tests): the
    /// one a ``withResident(_:)`` holds now, or a new one. The model does not release it.
    public func resident() throws(FCSError) -> AutoencoderKL {
        try withResident { $0 }
    }
}

/// A built autoencoder, as a reference that ``VAE`` can hold weakly.
private final class Resident: Sendable {
    let autoencoder: AutoencoderKL
    init(_ autoencoder: AutoencoderKL) { self.autoencoder = autoencoder }
}

private struct WeakResident: Sendable {
    weak var resident: Resident?
}
