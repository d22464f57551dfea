// swift-tools-version:6.0
import PackageDescription

// libFuzzer harnesses, one per input surface that a caller controls. A package of its own so
// that the sanitizer builds (tools/fuzz.sh: `swift build -c release --sanitize fuzzer
// --sanitize address`) leave the root package alone. Each harness defines only
// LLVMFuzzerTestOneInput; libFuzzer supplies main.
let package = Package(
    name: "fcs-fuzz",
    dependencies: [.package(name: "fcs", path: "../..")],
    targets: [
        // fixture paths, temporary folders and a byte reader shared by the harnesses
        .target(name: "FuzzSupport"),
        .executableTarget(name: "FuzzSafeTensors", dependencies: [
            "FuzzSupport", .product(name: "FCSModels", package: "fcs"), .product(name: "FCSTensor", package: "fcs"),
        ]),
        .executableTarget(name: "FuzzModelFolder", dependencies: [
            "FuzzSupport", .product(name: "FCSSampler", package: "fcs"), .product(name: "FCSModels", package: "fcs"),
        ]),
        .executableTarget(name: "FuzzSingleFile", dependencies: [
            "FuzzSupport", .product(name: "FCSModels", package: "fcs"), .product(name: "FCSTensor", package: "fcs"),
        ]),
        .executableTarget(name: "FuzzSingleFileConfig", dependencies: [
            "FuzzSupport", .product(name: "FCSModels", package: "fcs"),
        ]),
        .executableTarget(name: "FuzzNoiseFile", dependencies: [
            "FuzzSupport", .product(name: "FCSSampler", package: "fcs"), .product(name: "FCSTensor", package: "fcs"),
        ]),
        .executableTarget(name: "FuzzCABI", dependencies: [
            "FuzzSupport", .product(name: "FCSShared", package: "fcs"), .product(name: "CFCS", package: "fcs"),
        ]),
    ]
)
