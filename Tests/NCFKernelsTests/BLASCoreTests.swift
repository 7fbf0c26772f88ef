@testable import NCFKernels
import XCTest

/// `BLASCore.decide`: which OpenBLAS kernels ncf asks for, as a table of CPUs × the core OpenBLAS
/// reports × the environment. The decision is a pure function, so each case is one line; the
/// re-execution itself is exercised end to end by `ncfTests/BLASCoreCLITests`.
final class BLASCoreTests: XCTestCase {

    // MARK: - CPUs

    /// An Intel Xeon with AVX-512 but no BF16 (Skylake-SP/Cascade Lake class).
    static let xeonAVX512 = cpu(vendor: "GenuineIntel", model: "Intel(R) Xeon(R) Platinum 8259CL", .avx512, bf16: false)
    /// A newer Xeon with AVX512_BF16 (Sapphire Rapids class), which OpenBLAS 0.3.21 does not know.
    static let xeonBF16 = cpu(vendor: "GenuineIntel", model: "Intel(R) Xeon(R) Platinum 8488C", .avx512, bf16: true)
    /// This machine: AMD EPYC Zen 4, AVX-512 with BF16.
    static let zen4 = cpu(vendor: "AuthenticAMD", model: "AMD EPYC", .avx512, bf16: true)
    /// AMD Zen 2: AVX2 + FMA, no AVX-512.
    static let zen2 = cpu(vendor: "AuthenticAMD", model: "AMD EPYC 7R32", .avx2)
    /// Intel with AVX2 + FMA, no AVX-512 (Haswell … Coffee Lake, Alder Lake).
    static let intelAVX2 = cpu(vendor: "GenuineIntel", model: "Intel(R) Core(TM) i7-8700", .avx2)
    /// Intel Sandy Bridge: AVX without FMA or AVX2.
    static let sandyBridge = cpu(vendor: "GenuineIntel", model: "Intel(R) Xeon(R) E5-2670", .avx)
    /// A CPU with only SSE (a Nehalem, or a VM that hides AVX).
    static let sseOnly = cpu(vendor: "GenuineIntel", model: "Intel(R) Xeon(R) X5570", .sse)

    /// A CPU whose cpuid bits reach `bits`, with the OS saving every register state those bits need.
    static func cpu(vendor: String, model: String, _ bits: KernelTier, bf16: Bool = false) -> CPUFeatures {
        var c = CPUFeatures(isX86: true, vendor: vendor, model: model)
        c.avx = bits >= .avx
        c.fma = bits >= .avx2
        c.avx2 = bits >= .avx2
        let avx512 = bits >= .avx512
        (c.avx512f, c.avx512dq, c.avx512cd, c.avx512bw, c.avx512vl) = (avx512, avx512, avx512, avx512, avx512)
        c.avx512bf16 = bf16
        c.osSavesYMM = bits >= .avx
        c.osSavesZMM = avx512
        return c
    }

    // MARK: - The table

    struct Case {
        var name: String
        var cpu: CPUFeatures
        var reported: String
        var environment: [String: String] = [:]
        var dynamicArch = true
        var expected: BLASCoreDecision
    }

    static let pid: Int32 = 4242

    static var cases: [Case] {
        // The AVX-512 CPU of the table whose OS leaves the ZMM state off (a kernel or hypervisor
        // that does not enable it): the cpuid bits say AVX-512, XCR0 says no.
        var noZMM = xeonAVX512
        noZMM.osSavesZMM = false
        // The same CPU under an OS that enables no AVX state at all (XCR0 lacks YMM).
        var noYMM = xeonAVX512
        (noYMM.osSavesYMM, noYMM.osSavesZMM) = (false, false)
        // Knights Landing: AVX-512F and CD only (no BW/DQ/VL), which SkylakeX kernels need.
        var knightsLanding = xeonAVX512
        (knightsLanding.avx512bw, knightsLanding.avx512dq, knightsLanding.avx512vl) = (false, false, false)
        let arm = CPUFeatures(isX86: false, vendor: "", model: "aarch64")
        let marker = "NCF_BLAS_CORE_SET"

        return [
            // The reported problem and this machine.
            Case(name: "Xeon AVX-512 reported as Prescott", cpu: xeonAVX512, reported: "Prescott",
                 expected: .restart(from: "Prescott", to: "SkylakeX")),
            Case(name: "Xeon AVX-512 + BF16 reported as Prescott", cpu: xeonBF16, reported: "Prescott",
                 expected: .restart(from: "Prescott", to: "Cooperlake")),
            Case(name: "AMD Zen 4 reported as Cooperlake (this machine)", cpu: zen4, reported: "Cooperlake",
                 expected: .keep(core: "Cooperlake")),
            Case(name: "Zen 4 reported as SkylakeX: the same tier", cpu: zen4, reported: "SkylakeX",
                 expected: .keep(core: "SkylakeX")),
            // AVX2-only CPUs.
            Case(name: "AVX2 Intel reported as Sandybridge", cpu: intelAVX2, reported: "Sandybridge",
                 expected: .restart(from: "Sandybridge", to: "Haswell")),
            Case(name: "AVX2 Intel reported as Prescott", cpu: intelAVX2, reported: "Prescott",
                 expected: .restart(from: "Prescott", to: "Haswell")),
            Case(name: "AVX2 Intel reported as Haswell", cpu: intelAVX2, reported: "Haswell",
                 expected: .keep(core: "Haswell")),
            Case(name: "AVX2 AMD reported as Prescott gets Zen", cpu: zen2, reported: "Prescott",
                 expected: .restart(from: "Prescott", to: "Zen")),
            Case(name: "AVX2 AMD reported as Zen", cpu: zen2, reported: "Zen", expected: .keep(core: "Zen")),
            Case(name: "AVX only reported as Prescott", cpu: sandyBridge, reported: "Prescott",
                 expected: .restart(from: "Prescott", to: "Sandybridge")),
            Case(name: "AVX only reported as Sandybridge", cpu: sandyBridge, reported: "Sandybridge",
                 expected: .keep(core: "Sandybridge")),
            Case(name: "SSE only: nothing better to pick", cpu: sseOnly, reported: "Nehalem",
                 expected: .keep(core: "Nehalem")),
            // What the OS enables, not only what cpuid says.
            Case(name: "AVX-512 CPU, OS without ZMM state, reported Haswell", cpu: noZMM, reported: "Haswell",
                 expected: .keep(core: "Haswell")),
            Case(name: "AVX-512 CPU, OS without ZMM state, reported Prescott", cpu: noZMM, reported: "Prescott",
                 expected: .restart(from: "Prescott", to: "Haswell")),
            Case(name: "AVX-512 CPU, OS without any AVX state", cpu: noYMM, reported: "Prescott",
                 expected: .keep(core: "Prescott")),
            Case(name: "AVX-512F without BW/DQ/VL gets AVX2 kernels", cpu: knightsLanding, reported: "Prescott",
                 expected: .restart(from: "Prescott", to: "Haswell")),
            // The user's OPENBLAS_CORETYPE always wins.
            Case(name: "user set Prescott on Zen 4: kept, with a hint", cpu: zen4, reported: "Prescott",
                 environment: ["OPENBLAS_CORETYPE": "Prescott"],
                 expected: .userSet(value: "Prescott", running: "Prescott", better: "Cooperlake")),
            Case(name: "user set the best core", cpu: intelAVX2, reported: "Haswell",
                 environment: ["OPENBLAS_CORETYPE": "haswell"],
                 expected: .userSet(value: "haswell", running: "Haswell", better: nil)),
            Case(name: "user set a name OpenBLAS ignores; its own choice is fine", cpu: zen4, reported: "Cooperlake",
                 environment: ["OPENBLAS_CORETYPE": "bogus"],
                 expected: .userSet(value: "bogus", running: "Cooperlake", better: nil)),
            Case(name: "user set AVX-512 kernels on an AVX2 CPU", cpu: intelAVX2, reported: "SkylakeX",
                 environment: ["OPENBLAS_CORETYPE": "SkylakeX"],
                 expected: .userSetUnsupported(value: "SkylakeX", needs: .avx512, cpu: .avx2)),
            Case(name: "user set AVX-512 kernels where the OS has no ZMM state", cpu: noZMM, reported: "SkylakeX",
                 environment: ["OPENBLAS_CORETYPE": "SkylakeX"],
                 expected: .userSetUnsupported(value: "SkylakeX", needs: .avx512, cpu: .avx2)),
            Case(name: "an empty OPENBLAS_CORETYPE counts as unset", cpu: xeonAVX512, reported: "Prescott",
                 environment: ["OPENBLAS_CORETYPE": ""],
                 expected: .restart(from: "Prescott", to: "SkylakeX")),
            Case(name: "opted out", cpu: xeonAVX512, reported: "Prescott", environment: ["NCF_BLAS_AUTOCORE": "0"],
                 expected: .optedOut(running: "Prescott", better: "SkylakeX")),
            Case(name: "opt-out switch set to 1 changes nothing", cpu: xeonAVX512, reported: "Prescott",
                 environment: ["NCF_BLAS_AUTOCORE": "1"], expected: .restart(from: "Prescott", to: "SkylakeX")),
            // What ncf cannot judge.
            Case(name: "unknown core name", cpu: zen4, reported: "Zen5",
                 expected: .cannotJudge(core: "Zen5", reason: .unknownCore)),
            Case(name: "not x86", cpu: arm, reported: "NEOVERSEN1",
                 expected: .cannotJudge(core: "NEOVERSEN1", reason: .notX86)),
            Case(name: "OpenBLAS built for one CPU", cpu: xeonAVX512, reported: "Prescott", dynamicArch: false,
                 expected: .cannotJudge(core: "Prescott", reason: .notDynamicArch)),
            // After the restart, and in children (sweep trials) that inherit the environment.
            Case(name: "the restarted process", cpu: xeonAVX512, reported: "SkylakeX",
                 environment: ["OPENBLAS_CORETYPE": "SkylakeX", marker: "Prescott:SkylakeX:\(pid)"],
                 expected: .upgraded(from: "Prescott", to: "SkylakeX", restarted: true)),
            Case(name: "a child that inherited the setting needs no restart", cpu: xeonAVX512, reported: "SkylakeX",
                 environment: ["OPENBLAS_CORETYPE": "SkylakeX", marker: "Prescott:SkylakeX:1"],
                 expected: .upgraded(from: "Prescott", to: "SkylakeX", restarted: false)),
            Case(name: "OpenBLAS did not take the core: no second restart", cpu: xeonAVX512, reported: "Prescott",
                 environment: ["OPENBLAS_CORETYPE": "SkylakeX", marker: "Prescott:SkylakeX:\(pid)"],
                 expected: .upgradeIgnored(requested: "SkylakeX", running: "Prescott")),
            Case(name: "marker without the variable: never restart twice", cpu: xeonAVX512, reported: "Prescott",
                 environment: [marker: "Prescott:SkylakeX:1"],
                 expected: .upgradeIgnored(requested: "SkylakeX", running: "Prescott")),
            Case(name: "user replaced ncf's value", cpu: xeonAVX512, reported: "Haswell",
                 environment: ["OPENBLAS_CORETYPE": "Haswell", marker: "Prescott:SkylakeX:1"],
                 expected: .userSet(value: "Haswell", running: "Haswell", better: "SkylakeX")),
            Case(name: "names compare without case", cpu: xeonAVX512, reported: "SkylakeX",
                 environment: ["OPENBLAS_CORETYPE": "skylakex", marker: "Prescott:SkylakeX:\(pid)"],
                 expected: .upgraded(from: "Prescott", to: "SkylakeX", restarted: true)),
            // The test seam: pretend OpenBLAS reported another core.
            Case(name: "seam: Zen 4 assumed Prescott restarts to Cooperlake", cpu: zen4, reported: "Cooperlake",
                 environment: ["NCF_BLAS_ASSUME_CORE": "Prescott"],
                 expected: .restart(from: "Prescott", to: "Cooperlake")),
            Case(name: "seam after the restart: no loop", cpu: zen4, reported: "Cooperlake",
                 environment: ["NCF_BLAS_ASSUME_CORE": "Prescott", "OPENBLAS_CORETYPE": "Cooperlake",
                               marker: "Prescott:Cooperlake:\(pid)"],
                 expected: .upgraded(from: "Prescott", to: "Cooperlake", restarted: true)),
        ]
    }

    func testDecisionTable() {
        for c in Self.cases {
            let got = BLASCore.decide(cpu: c.cpu, reportedCore: c.reported, dynamicArch: c.dynamicArch,
                                      environment: c.environment, pid: Self.pid)
            XCTAssertEqual(got, c.expected, c.name)
        }
    }

    /// Every restart goes to a core the CPU and OS run, and only ever upward.
    func testRestartsOnlyUpwardAndOnlyToRunnableCores() {
        for c in Self.cases {
            guard case let .restart(from, to) = BLASCore.decide(cpu: c.cpu, reportedCore: c.reported, dynamicArch: true,
                                                                environment: c.environment, pid: Self.pid) else { continue }
            let toTier = BLASCore.tier(ofCore: to), fromTier = BLASCore.tier(ofCore: from)
            XCTAssertNotNil(toTier, c.name)
            XCTAssertLessThanOrEqual(toTier ?? .avx512, c.cpu.tier, c.name)
            XCTAssertLessThan(fromTier ?? .avx512, toTier ?? .sse, c.name)
        }
    }

    // MARK: - The pieces

    func testCoreRanking() {
        for name in ["Prescott", "Katmai", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Barcelona", "Bobcat", "Opteron_SSE3", "Nano"] {
            XCTAssertEqual(BLASCore.tier(ofCore: name), .sse, name)
        }
        for name in ["Sandybridge", "Bulldozer", "Piledriver", "Steamroller"] {
            XCTAssertEqual(BLASCore.tier(ofCore: name), .avx, name)
        }
        for name in ["Haswell", "Zen", "Excavator"] { XCTAssertEqual(BLASCore.tier(ofCore: name), .avx2, name) }
        for name in ["SkylakeX", "Cooperlake", "SapphireRapids"] { XCTAssertEqual(BLASCore.tier(ofCore: name), .avx512, name) }
        XCTAssertEqual(BLASCore.tier(ofCore: "PRESCOTT"), .sse)
        XCTAssertEqual(BLASCore.tier(ofCore: "cooperlake"), .avx512)
        XCTAssertNil(BLASCore.tier(ofCore: "Unknown"))
        XCTAssertNil(BLASCore.tier(ofCore: ""))
        XCTAssertNil(BLASCore.tier(ofCore: "ARMV8"))
        XCTAssertLessThan(KernelTier.sse, .avx)
        XCTAssertLessThan(KernelTier.avx, .avx2)
        XCTAssertLessThan(KernelTier.avx2, .avx512)
    }

    func testBestCore() {
        XCTAssertEqual(BLASCore.bestCore(for: Self.zen4), "Cooperlake")
        XCTAssertEqual(BLASCore.bestCore(for: Self.xeonAVX512), "SkylakeX")
        XCTAssertEqual(BLASCore.bestCore(for: Self.intelAVX2), "Haswell")
        XCTAssertEqual(BLASCore.bestCore(for: Self.zen2), "Zen")
        XCTAssertEqual(BLASCore.bestCore(for: Self.cpu(vendor: "HygonGenuine", model: "Hygon C86", .avx2)), "Zen")
        XCTAssertEqual(BLASCore.bestCore(for: Self.sandyBridge), "Sandybridge")
        XCTAssertNil(BLASCore.bestCore(for: Self.sseOnly))
        XCTAssertNil(BLASCore.bestCore(for: CPUFeatures(isX86: false, vendor: "", model: "aarch64")))
    }

    /// XCR0: bit 1 SSE, bit 2 AVX (YMM upper halves), bits 5–7 opmask, ZMM upper halves, ZMM16–31.
    func testOperatingSystemStateFromXCR0() {
        XCTAssertTrue(CPUFeatures.osState(osxsave: true, xcr0: 0xe7) == (true, true))
        XCTAssertTrue(CPUFeatures.osState(osxsave: true, xcr0: 0x2e7) == (true, true))  // with PKRU
        XCTAssertTrue(CPUFeatures.osState(osxsave: true, xcr0: 0x07) == (true, false))
        XCTAssertTrue(CPUFeatures.osState(osxsave: true, xcr0: 0x67) == (true, false))  // ZMM16–31 missing
        XCTAssertTrue(CPUFeatures.osState(osxsave: true, xcr0: 0x03) == (false, false))
        XCTAssertTrue(CPUFeatures.osState(osxsave: true, xcr0: 0xe3) == (false, false))  // ZMM without YMM
        XCTAssertTrue(CPUFeatures.osState(osxsave: false, xcr0: 0xe7) == (false, false))
    }

    func testTierNeedsTheOperatingSystem() {
        var c = Self.zen4
        XCTAssertEqual(c.tier, .avx512)
        c.osSavesZMM = false
        XCTAssertEqual(c.tier, .avx2)
        c.osSavesYMM = false
        XCTAssertEqual(c.tier, .sse)
        var noFMA = Self.intelAVX2
        noFMA.fma = false
        XCTAssertEqual(noFMA.tier, .avx)
    }

    func testHintsSayWhatToDo() {
        let pinned = BLASCoreDecision.userSet(value: "Prescott", running: "Prescott", better: "Cooperlake")
        let hint = try? XCTUnwrap(pinned.hint)
        XCTAssertTrue(hint?.contains("OPENBLAS_CORETYPE=Prescott") == true, hint ?? "no hint")
        XCTAssertTrue(hint?.contains("Cooperlake") == true, hint ?? "no hint")
        XCTAssertTrue(hint?.contains("unset OPENBLAS_CORETYPE") == true, hint ?? "no hint")
        XCTAssertNotNil(BLASCoreDecision.userSetUnsupported(value: "SkylakeX", needs: .avx512, cpu: .avx2).hint)
        XCTAssertNil(BLASCoreDecision.userSet(value: "Haswell", running: "Haswell", better: nil).hint)
        XCTAssertNil(BLASCoreDecision.keep(core: "Cooperlake").hint)
        XCTAssertNil(BLASCoreDecision.upgraded(from: "Prescott", to: "SkylakeX", restarted: true).hint)
    }

    // MARK: - The restart

    /// The exec sees OPENBLAS_CORETYPE and the marker; when it fails, both are removed again and
    /// the process goes on, saying what failed.
    func testFailedExecContinuesWithoutTheVariables() {
        let saved = SavedEnvironment.save()
        defer { saved.restore() }
        unsetenv("OPENBLAS_CORETYPE")
        unsetenv("NCF_BLAS_CORE_SET")
        var seen: (path: String, core: String?, marker: String?)?
        let result = BLASCore.restart(from: "Prescott", to: "SkylakeX") { path, _ in
            seen = (String(cString: path), getenv("OPENBLAS_CORETYPE").map { String(cString: $0) },
                    getenv("NCF_BLAS_CORE_SET").map { String(cString: $0) })
            errno = ENOENT
            return -1
        }
        XCTAssertEqual(seen?.path, "/proc/self/exe")
        XCTAssertEqual(seen?.core, "SkylakeX")
        XCTAssertEqual(seen?.marker, "Prescott:SkylakeX:\(getpid())")
        guard case let .restartFailed(from, to, error) = result else { return XCTFail("\(result)") }
        XCTAssertEqual(from, "Prescott")
        XCTAssertEqual(to, "SkylakeX")
        XCTAssertTrue(error.contains("No such file"), error)
        XCTAssertNil(getenv("OPENBLAS_CORETYPE"))
        XCTAssertNil(getenv("NCF_BLAS_CORE_SET"))
        XCTAssertNotNil(result.hint)
    }

    // MARK: - This machine

    /// The facts read from this CPU are self-consistent, and OpenBLAS names a core.
    func testThisMachine() {
        let cpu = CPUFeatures.current
        #if arch(x86_64)
        XCTAssertTrue(cpu.isX86)
        XCTAssertEqual(cpu.vendor.count, 12, cpu.vendor)
        #endif
        if cpu.osSavesZMM { XCTAssertTrue(cpu.osSavesYMM) }
        if cpu.avx2 { XCTAssertTrue(cpu.avx) }
        XCTAssertFalse(BLASCore.runningCore.isEmpty)
        XCTAssertTrue(BLASCore.openBLASConfig.hasPrefix("OpenBLAS"), BLASCore.openBLASConfig)
        let status = BLASCore.status
        XCTAssertEqual(status.core, BLASCore.runningCore)
        XCTAssertFalse(status.lines.isEmpty)
    }
}

/// The two variables `BLASCore.restart` sets, saved and put back, so the test leaves this
/// process's environment as it found it.
struct SavedEnvironment {
    var values: [String: String?]

    static func save() -> SavedEnvironment {
        var values: [String: String?] = [:]
        for name in ["OPENBLAS_CORETYPE", "NCF_BLAS_CORE_SET"] { values[name] = getenv(name).map { String(cString: $0) } }
        return SavedEnvironment(values: values)
    }

    func restore() {
        for (name, value) in values {
            if let value { setenv(name, value, 1) } else { unsetenv(name) }
        }
    }
}
