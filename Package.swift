// swift-tools-version:6.0
import PackageDescription

// No unsafeFlags here on purpose (pitfall P3 in shared/spec/vips-and-abi.md): release link
// flags (static Swift runtime, SONAME, export list) go on the `swift build` command line.
let package = Package(
    name: "fcs",
    products: [
        // MARK: Public API
        .library(name: "FCSTensor", targets: ["FCSTensor"]),
        .library(name: "FCSModels", targets: ["FCSModels"]),
        .library(name: "FCSSampler", targets: ["FCSSampler"]),
        .executable(name: "fcs", targets: ["FCSCommand"]),
        // The C ABI (Include/fcs.h). Release builds rename it libfcs.so.0 (see Makefile).
        .library(name: "FCSShared", type: .dynamic, targets: ["FCS"]),
        // Include/fcs.h as a Clang module, for Swift programs that use the C ABI.
        .library(name: "CFCS", targets: ["CFCS"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // MARK: Layer 1 — tensors and kernels
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // Vectorised inner loops in C, compiled per ISA (AVX-512 / AVX2+FMA / baseline) and
        // chosen at load time by CPU features. Implementation detail: no stable API.
        .target(name: "_FCSKernels"),
        .target(name: "FCSTensor", dependencies: ["COpenBLAS", "_FCSKernels"]),

        // MARK: Layer 2 — models and file formats
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Data compiled into the library (CLIP's BPE vocabulary). Implementation detail.
        .target(name: "_FCSResources", exclude: ["include/bpe_simple_vocab_16e6.txt.gz", "LICENSE-CLIP-vocabulary.md",
                                                "include/demo-unet-config.json", "include/demo-unet.fp16.safetensors", "demo-model"]),
        // Its load options' defaults are the header's FCS_DEFAULT_* macros, read through CFCS.
        .target(name: "FCSModels", dependencies: ["FCSTensor", "CZlib", "_FCSResources", "CFCS"]),

        // MARK: Layer 3 — the constrained sampler
        // Its parameters' defaults are the header's FCS_DEFAULT_* macros (the one place each is
        // written), read through CFCS: a header-only module, nothing of the C ABI is linked.
        .target(name: "FCSSampler", dependencies: ["FCSModels", "FCSTensor", "CFCS"]),

        // MARK: Layer 4 — the C ABI (the only place with @c functions)
        .systemLibrary(name: "CFCS", path: "Include"),
        .target(name: "FCS", dependencies: ["CFCS", "FCSSampler", "FCSModels", "FCSTensor"]),

        // MARK: Front ends
        .systemLibrary(name: "CVips", pkgConfig: "vips", providers: [.apt(["libvips-dev"])]),
        // Image files through libvips for the fcs command; vips_pixels.c is also compiled into
        // the vips operations (bindings/vips), so both convert images the same way.
        .target(name: "_FCSImageFiles", dependencies: ["CVips"]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // HTTP for `fcs fetch` (libcurl's setopt is variadic, so it needs C).
        .target(name: "_FCSHTTP", dependencies: ["CCurl"], linkerSettings: [.linkedLibrary("crypto")]),
        .executableTarget(
            name: "FCSCommand",
            dependencies: [
                "FCSTensor", "FCSModels", "FCSSampler", "COpenBLAS", "FCS", "CFCS", "_FCSImageFiles", "_FCSHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: Tests
        .testTarget(
            name: "FCSTensorTests",
            dependencies: ["FCSTensor", "FCSModels", "_FCSKernels"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "FCSModelsTests",
            dependencies: ["FCSModels"],
            resources: [.copy("Fixtures")]
        ),
        // reads the tiny model from FCSModelsTests/Fixtures and its own fixtures by source path
        .testTarget(name: "FCSSamplerTests", dependencies: ["FCSSampler", "FCSModels"], exclude: ["Fixtures"]),
        // the C ABI's entry points on in-memory images, through their Swift names (reads the tiny
        // models from FCSModelsTests/Fixtures by source path)
        .testTarget(name: "FCSTests", dependencies: ["FCS", "CFCS", "FCSSampler", "FCSModels", "FCSTensor"]),
        // the fcs command's own logic that needs no model (`fcs bench models --peer`'s file and goals)
        .testTarget(name: "FCSCommandTests", dependencies: ["FCSCommand", "FCSTensor"]),
    ]
)
