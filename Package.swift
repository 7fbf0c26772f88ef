// swift-tools-version:6.0
//
// ncf: Neural Collaborative Filtering trainer with a built-in hyperparameter sweep.
// NCFRunContract (the records, metric names and exit codes of a trial) comes first; then data flows
// one way: CBLAS → NCFKernels → NCFData → NCFModel → NCFTraining, and NCFKernels →
// NCFSweep → NCFAgent, NCFReport → NCFDashboard; the ncf CLI wires them together.
// A target imports only targets listed above it.

import Foundation
import PackageDescription

/// The numeric targets are optimised in debug builds too: tests and debug trials train real
/// models, and unoptimised Swift runs that arithmetic ~50× slower.
///
/// They are compiled for the CPU of the machine that builds them (`-target-cpu native`), so ncf's
/// own vector code uses AVX2/FMA or AVX-512 where the CPU has them; OpenBLAS picks its kernels at
/// run time either way. On the development machine this trains 17–37% faster (README,
/// "Performance"). A binary built so may not run on an older CPU: to build one for other machines,
/// set `NCF_TARGET_CPU=portable` (the compiler's baseline for the platform) or name a CPU
/// (`NCF_TARGET_CPU=haswell`), in a build folder of its own, e.g.
/// `NCF_TARGET_CPU=portable swift build -c release --scratch-path .build-portable`.
let targetCPU: String? = {
    let value = ProcessInfo.processInfo.environment["NCF_TARGET_CPU"] ?? ""
    if value == "portable" { return nil }
    return value.isEmpty ? "native" : value
}()
/// `NCF_FMA` tells the code that the CPU it is compiled for has fused multiply-add (every x86-64 CPU
/// since 2013 and every arm64 CPU), which the kernels that spell out their own vector arithmetic
/// need; without it they leave the work to OpenBLAS.
let numericSettings: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]
    + (targetCPU.map { [.unsafeFlags(["-target-cpu", $0]), .define("NCF_FMA")] } ?? [])

let package = Package(
    name: "ncf",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "ncf", targets: ["ncf"]),
        .executable(name: "ncf-bench", targets: ["ncf-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
    ],
    targets: [
        // MARK: - System libraries

        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // PostgreSQL's C client, for the PostgreSQL sweep store (`--store postgresql://…`).
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // cpuid and xgetbv, for NCFKernels' choice of OpenBLAS kernels (BLASCore.swift); and the
        // prefetch hint behind `Kernels.prefetch`.
        .target(name: "CCPUFeatures"),

        // MARK: - Library targets, in flow order

        // The run contract: the JSON Lines records a trial writes, the metric names a trainer logs
        // and the exit codes. Foundation only; the trainer, the sweep, the agent and the report share it.
        .target(name: "NCFRunContract"),
        .target(name: "NCFKernels", dependencies: ["CBLAS", "CCPUFeatures"], swiftSettings: numericSettings),
        .target(name: "NCFData", dependencies: ["NCFRunContract", "NCFKernels", "CZlib"], swiftSettings: numericSettings),
        .target(name: "NCFModel", dependencies: ["NCFKernels", "NCFData"], swiftSettings: numericSettings),
        .target(name: "NCFTraining", dependencies: ["NCFRunContract", "NCFModel", "NCFData", "NCFKernels"], swiftSettings: numericSettings),
        // The sweep engine: config, samplers, pruners, the run store and the records they share.
        // Pure: it knows nothing of training, processes or HTML.
        .target(
            name: "NCFSweep",
            dependencies: [
                "NCFRunContract",
                "NCFKernels",
                "CLibPQ",
                .product(name: "Yams", package: "Yams"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            // Optimised in debug builds too: every claim reads all of its sweep's runs while it
            // holds the sweep's lock, and unoptimised, that made the 16-agent × 300-run load test
            // (PostgreSQLFaultTests) spend minutes of CI waiting on the lock.
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),
        // The agent: trial child processes and the claim loop over a store.
        .target(name: "NCFAgent", dependencies: ["NCFRunContract", "NCFSweep"]),
        // The report: HTML pages and SVG charts drawn from a store or a run log.
        .target(name: "NCFReport", dependencies: ["NCFRunContract", "NCFSweep", "NCFKernels"]),
        // The dashboard: a small HTTP server on POSIX sockets, the JSON API and pages over a
        // store it only reads (`ncf sweep serve`).
        .target(name: "NCFDashboard", dependencies: ["NCFRunContract", "NCFSweep", "NCFReport"]),

        // MARK: - Executables

        .executableTarget(
            name: "ncf",
            dependencies: [
                "NCFAgent", "NCFReport", "NCFDashboard", "NCFRunContract", "NCFSweep", "NCFTraining", "NCFModel", "NCFData", "NCFKernels",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "ncf-bench",
            dependencies: [
                "NCFRunContract", "NCFSweep", "NCFTraining", "NCFModel", "NCFData", "NCFKernels",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: - Tests

        .target(name: "NCFTestSupport", dependencies: ["NCFRunContract", "NCFModel", "NCFData", "NCFKernels"]),
        .testTarget(name: "NCFRunContractTests", dependencies: ["NCFRunContract"]),
        .testTarget(name: "NCFKernelsTests", dependencies: ["NCFKernels", "NCFTestSupport"]),
        .testTarget(name: "NCFDataTests", dependencies: ["NCFData", "NCFTestSupport"]),
        .testTarget(name: "NCFModelTests", dependencies: ["NCFModel", "NCFTestSupport"]),
        .testTarget(name: "NCFTrainingTests", dependencies: ["NCFTraining", "NCFRunContract", "NCFTestSupport"]),
        .testTarget(
            name: "NCFSweepTests",
            // NCFReport: the store's fault and fuzz tests also read damaged stores through the report.
            dependencies: ["NCFSweep", "NCFReport", "NCFRunContract", "NCFTestSupport", .product(name: "GRDB", package: "GRDB.swift")],
            exclude: ["Assets"]  // read through #filePath by the store fault tests
        ),
        .testTarget(
            name: "NCFAgentTests",
            dependencies: ["NCFAgent", "NCFRunContract", "NCFSweep", "NCFTestSupport"],
            exclude: ["Assets"]  // read through #filePath by the fault tests
        ),
        .testTarget(name: "NCFReportTests", dependencies: ["NCFReport", "NCFRunContract", "NCFSweep", "NCFTestSupport"]),
        .testTarget(name: "NCFDashboardTests", dependencies: ["NCFDashboard", "NCFReport", "NCFRunContract", "NCFSweep", "NCFTestSupport",
                                                             .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "ncfTests", dependencies: ["ncf", "ncf-bench", "NCFAgent", "NCFReport", "NCFRunContract", "NCFSweep", "NCFData", "NCFTestSupport"]),
    ]
)
