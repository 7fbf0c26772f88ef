import CBLAS
import CCPUFeatures
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// OpenBLAS built with DYNAMIC_ARCH (Debian's, for one) picks its kernels for the CPU in a library
// constructor, before `main`. When it does not recognise the CPU — OpenBLAS 0.3.21 on a newer
// Xeon, for instance — it falls back to its Prescott (SSE3) kernels, and sgemm runs ~4× slower
// than with the AVX-512 ones the CPU has. The only way to choose is the environment variable
// OPENBLAS_CORETYPE, read by that constructor. So ncf checks, first thing in `main`, whether
// OpenBLAS runs kernels below what the CPU and OS support, and if so executes itself again once
// with OPENBLAS_CORETYPE set (`BLASCore.selectKernels`). The decision is a pure function
// (`BLASCore.decide`) so it can be tested as a table.
//
// The environment variables involved:
// - OPENBLAS_CORETYPE: OpenBLAS's own. A value the user set is never changed.
// - NCF_BLAS_AUTOCORE=0: turns the automatic choice off.
// - NCF_BLAS_CORE_SET=FROM:TO:PID: set by ncf with OPENBLAS_CORETYPE=TO when it restarts process
//   PID (OpenBLAS had picked FROM). It tells ncf's value from the user's, keeps ncf from
//   restarting twice, and is inherited by child processes (sweep trials), which therefore start
//   with the right kernels and need no restart of their own.
// - NCF_BLAS_ASSUME_CORE=NAME: a test seam. The decision pretends OpenBLAS reported NAME, so the
//   restart path can be exercised (and measured) on a CPU that OpenBLAS recognises.

// MARK: - What the CPU offers

/// The BLAS kernel families, ranked: what a CPU and its OS can run, or what a core's kernels need.
public enum KernelTier: Int, Comparable, Sendable, CustomStringConvertible {
    /// SSE2/SSE3 kernels (Prescott, Nehalem, ...): run anywhere on x86-64.
    case sse
    /// 256-bit AVX without FMA (Sandybridge).
    case avx
    /// AVX2 + FMA (Haswell, Zen).
    case avx2
    /// AVX-512 F/CD/BW/DQ/VL (SkylakeX, Cooperlake).
    case avx512

    public static func < (a: KernelTier, b: KernelTier) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .sse: return "SSE"
        case .avx: return "AVX"
        case .avx2: return "AVX2+FMA"
        case .avx512: return "AVX-512"
        }
    }
}

/// What the CPU offers (cpuid) and what the operating system enables (XCR0), as far as choosing
/// BLAS kernels goes. A vector instruction runs only when both say yes: a CPU with AVX-512 under
/// an OS (or hypervisor) that does not save the ZMM registers faults on the first AVX-512
/// instruction, so `tier` requires the OS state too.
public struct CPUFeatures: Equatable, Sendable {
    public var isX86: Bool
    /// cpuid's vendor string ("GenuineIntel", "AuthenticAMD", ...); empty when not x86.
    public var vendor: String
    /// The CPU's brand string ("AMD EPYC 9R14 96-Core Processor"), or the machine name when not x86.
    public var model: String
    public var avx = false
    public var fma = false
    public var avx2 = false
    public var avx512f = false
    public var avx512dq = false
    public var avx512cd = false
    public var avx512bw = false
    public var avx512vl = false
    public var avx512bf16 = false
    /// The OS saves the SSE and AVX (YMM) state: AVX code may run.
    public var osSavesYMM = false
    /// The OS also saves the AVX-512 state (opmask and ZMM registers): AVX-512 code may run.
    public var osSavesZMM = false

    public init(isX86: Bool, vendor: String, model: String) {
        self.isX86 = isX86
        self.vendor = vendor
        self.model = model
    }

    /// The register state the OS enables, from OSXSAVE (cpuid) and XCR0: bits 1–2 are the SSE and
    /// YMM state, bits 5–7 the opmask, the upper ZMM halves and ZMM16–31. Without OSXSAVE the OS
    /// enables none of it (and reading XCR0 would fault).
    public static func osState(osxsave: Bool, xcr0: UInt64) -> (ymm: Bool, zmm: Bool) {
        let ymm = osxsave && xcr0 & 0x6 == 0x6
        return (ymm, ymm && xcr0 & 0xe0 == 0xe0)
    }

    /// The best kernel family this CPU runs under this OS.
    public var tier: KernelTier {
        guard isX86 else { return .sse }
        if avx512f && avx512dq && avx512cd && avx512bw && avx512vl && avx2 && fma && osSavesYMM && osSavesZMM { return .avx512 }
        if avx2 && fma && avx && osSavesYMM { return .avx2 }
        if avx && osSavesYMM { return .avx }
        return .sse
    }

    /// The features that matter here, by name, for diagnostics ("avx avx2 fma avx512f ...").
    public var featureNames: [String] {
        let all: [(String, Bool)] = [("avx", avx), ("fma", fma), ("avx2", avx2), ("avx512f", avx512f), ("avx512dq", avx512dq),
                                     ("avx512cd", avx512cd), ("avx512bw", avx512bw), ("avx512vl", avx512vl),
                                     ("avx512_bf16", avx512bf16)]
        return all.filter(\.1).map(\.0)
    }

    /// This machine's CPU, read once with cpuid and xgetbv.
    public static let current: CPUFeatures = {
        var raw = ncf_cpu_features()
        ncf_cpu_features_read(&raw)
        func text<T>(_ tuple: T) -> String {
            withUnsafeBytes(of: tuple) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            }
        }
        guard raw.is_x86 != 0 else {
            var name = utsname()
            uname(&name)
            return CPUFeatures(isX86: false, vendor: "", model: text(name.machine))
        }
        var cpu = CPUFeatures(isX86: true, vendor: text(raw.vendor), model: text(raw.brand))
        if cpu.model.isEmpty { cpu.model = "\(cpu.vendor) family \(raw.family) model \(raw.model)" }
        cpu.avx = raw.avx != 0
        cpu.fma = raw.fma != 0
        cpu.avx2 = raw.avx2 != 0
        cpu.avx512f = raw.avx512f != 0
        cpu.avx512dq = raw.avx512dq != 0
        cpu.avx512cd = raw.avx512cd != 0
        cpu.avx512bw = raw.avx512bw != 0
        cpu.avx512vl = raw.avx512vl != 0
        cpu.avx512bf16 = raw.avx512_bf16 != 0
        (cpu.osSavesYMM, cpu.osSavesZMM) = osState(osxsave: raw.osxsave != 0, xcr0: raw.xcr0)
        return cpu
    }()
}

// MARK: - The decision

/// What ncf does about OpenBLAS's kernels in this process, and why.
public enum BLASCoreDecision: Equatable, Sendable {
    /// Why ncf cannot judge OpenBLAS's choice.
    public enum Reason: Equatable, Sendable {
        /// Not an x86-64 CPU: OpenBLAS's core names and ncf's ranking are x86 ones.
        case notX86
        /// OpenBLAS was built for one CPU (no DYNAMIC_ARCH): there is nothing to choose at run time.
        case notDynamicArch
        /// OpenBLAS reports a core ncf does not rank (a newer OpenBLAS, or "Unknown").
        case unknownCore
    }

    /// OpenBLAS's own choice is as good as this CPU and OS allow.
    case keep(core: String)
    /// OpenBLAS runs `from`, below what the CPU and OS allow: execute again with OPENBLAS_CORETYPE=`to`.
    case restart(from: String, to: String)
    /// ncf set OPENBLAS_CORETYPE=`to` (OpenBLAS had picked `from`), restarting this process
    /// (`restarted`) or a parent ncf whose environment this process inherited.
    case upgraded(from: String, to: String, restarted: Bool)
    /// ncf asked for `requested` but OpenBLAS runs `running` (a build without that core?). ncf
    /// restarts at most once, so it lets this be.
    case upgradeIgnored(requested: String, running: String)
    /// The restart was wanted but executing again failed; ncf goes on with `from`.
    case restartFailed(from: String, to: String, error: String)
    /// The user set OPENBLAS_CORETYPE=`value` and OpenBLAS runs `running`. ncf leaves it;
    /// `better` is a core this CPU runs that ranks above `running`, if there is one.
    case userSet(value: String, running: String, better: String?)
    /// The user's OPENBLAS_CORETYPE names kernels that need `needs`, more than this CPU and OS
    /// run (`cpu`): OpenBLAS may stop with "illegal instruction". ncf leaves it and warns.
    case userSetUnsupported(value: String, needs: KernelTier, cpu: KernelTier)
    /// NCF_BLAS_AUTOCORE=0: ncf changes nothing; `better` as for `userSet`.
    case optedOut(running: String, better: String?)
    /// ncf cannot judge OpenBLAS's choice of `core`.
    case cannotJudge(core: String, reason: Reason)

    /// One sentence for a diagnostics line.
    public var description: String {
        switch self {
        case let .keep(core):
            return "\(core) is OpenBLAS's own choice, the best this CPU runs"
        case let .restart(from, to):
            return "OpenBLAS picked \(from); ncf restarts with OPENBLAS_CORETYPE=\(to)"
        case let .upgraded(from, to, restarted):
            return "OpenBLAS picked \(from); ncf set OPENBLAS_CORETYPE=\(to)"
                + (restarted ? " and restarted once" : " (inherited from the parent process, no restart)")
        case let .upgradeIgnored(requested, running):
            return "ncf asked OpenBLAS for \(requested) but it runs \(running); ncf does not try again"
        case let .restartFailed(from, to, error):
            return "OpenBLAS picked \(from); restarting with OPENBLAS_CORETYPE=\(to) failed (\(error)), so ncf goes on with \(from)"
        case let .userSet(value, running, better):
            return "OPENBLAS_CORETYPE=\(value) is set, OpenBLAS runs \(running)"
                + (better.map { "; this CPU runs \($0)" } ?? "")
        case let .userSetUnsupported(value, needs, cpu):
            return "OPENBLAS_CORETYPE=\(value) asks for \(needs) kernels; this CPU and OS run \(cpu)"
        case let .optedOut(running, better):
            return "NCF_BLAS_AUTOCORE=0: ncf leaves OpenBLAS's choice of \(running)"
                + (better.map { "; this CPU runs \($0)" } ?? "")
        case let .cannotJudge(core, reason):
            switch reason {
            case .notX86: return "\(core) is OpenBLAS's own choice (ncf ranks x86-64 kernels only)"
            case .notDynamicArch: return "OpenBLAS is built for one CPU (no DYNAMIC_ARCH); its kernels cannot be chosen at run time"
            case .unknownCore: return "\(core) is OpenBLAS's own choice (a core ncf does not rank)"
            }
        }
    }

    /// Who chose the kernels OpenBLAS runs: "openblas", "ncf" or "user" (for JSON output).
    public var chooser: String {
        switch self {
        case .upgraded: return "ncf"
        case .userSet, .userSetUnsupported: return "user"
        default: return "openblas"
        }
    }

    /// What the user should do, when OpenBLAS runs kernels below (or above) what the CPU runs
    /// because of a setting or a library ncf did not override; nil when nothing is wrong.
    public var hint: String? {
        switch self {
        case let .userSet(value, running, better?):
            return "OPENBLAS_CORETYPE=\(value) makes OpenBLAS run \(running) kernels; this CPU runs \(better) "
                + "(\(BLASCore.tier(ofCore: better)?.description ?? "faster") kernels). Hint: unset OPENBLAS_CORETYPE "
                + "and ncf picks them, or set OPENBLAS_CORETYPE=\(better)."
        case let .userSetUnsupported(value, needs, cpu):
            return "OPENBLAS_CORETYPE=\(value) asks for \(needs) kernels, but this CPU and OS run only \(cpu) ones; "
                + "OpenBLAS may stop with \"illegal instruction\". Hint: unset OPENBLAS_CORETYPE."
        case let .upgradeIgnored(requested, running):
            return "OpenBLAS did not take OPENBLAS_CORETYPE=\(requested) and runs \(running) kernels. "
                + "Hint: check `openblas_get_config()` (ncf doctor) for a build with DYNAMIC_ARCH that includes \(requested)."
        case let .restartFailed(from, to, _):
            return "OpenBLAS runs \(from) kernels. Hint: start ncf with OPENBLAS_CORETYPE=\(to) in the environment."
        default:
            return nil
        }
    }
}

/// OpenBLAS's kernel choice: ranking, decision, and the restart that applies it.
public enum BLASCore {
    /// OpenBLAS's variable, read by its constructor at load time.
    public static let coreTypeVariable = "OPENBLAS_CORETYPE"
    /// `0` (or `false`, `no`, `off`) turns the automatic choice off.
    public static let autoVariable = "NCF_BLAS_AUTOCORE"
    /// The marker ncf sets with OPENBLAS_CORETYPE when it restarts: `FROM:TO:PID`.
    public static let markerVariable = "NCF_BLAS_CORE_SET"
    /// Test seam: the decision pretends OpenBLAS reported this core. Read only by `decide`.
    public static let assumeVariable = "NCF_BLAS_ASSUME_CORE"

    /// The tier of the kernels behind one of OpenBLAS's x86-64 core names (any case), or nil for a
    /// name ncf does not rank.
    ///
    /// The AMD family-15h cores rank by the CPUs OpenBLAS picks them for: Bulldozer, Piledriver and
    /// Steamroller CPUs have AVX without AVX2, Excavator has AVX2, so ncf never swaps OpenBLAS's
    /// tuning for those CPUs for another vendor's kernels.
    public static func tier(ofCore name: String) -> KernelTier? {
        switch name.lowercased() {
        case "katmai", "coppermine", "northwood", "prescott", "banias", "atom", "core2", "penryn", "dunnington",
             "nehalem", "athlon", "opteron", "opteron_sse3", "barcelona", "nano", "bobcat":
            return .sse
        case "sandybridge", "bulldozer", "piledriver", "steamroller":
            return .avx
        case "haswell", "zen", "excavator":
            return .avx2
        case "skylakex", "cooperlake", "sapphirerapids":
            return .avx512
        default:
            return nil
        }
    }

    /// The OpenBLAS core for the best kernels `cpu` runs, or nil when there is none above SSE (or
    /// the CPU is not x86): Cooperlake for AVX-512 with BF16, SkylakeX for AVX-512, Zen (AMD,
    /// Hygon) or Haswell for AVX2 + FMA, Sandybridge for AVX.
    public static func bestCore(for cpu: CPUFeatures) -> String? {
        guard cpu.isX86 else { return nil }
        switch cpu.tier {
        case .avx512: return cpu.avx512bf16 ? "Cooperlake" : "SkylakeX"
        case .avx2: return ["AuthenticAMD", "HygonGenuine"].contains(cpu.vendor) ? "Zen" : "Haswell"
        case .avx: return "Sandybridge"
        case .sse: return nil
        }
    }

    /// What to do about OpenBLAS's kernels. Pure: the same inputs always give the same answer.
    ///
    /// - Parameters:
    ///   - cpu: what the CPU offers and the OS enables.
    ///   - reportedCore: `openblas_get_corename()`.
    ///   - dynamicArch: whether OpenBLAS was built with DYNAMIC_ARCH (`openblas_get_config()`).
    ///   - environment: the process environment (OPENBLAS_CORETYPE and the NCF_BLAS_* variables).
    ///   - pid: this process's id, to tell the restarted process from a child that inherited.
    ///
    /// The rules, in order: not x86 or not DYNAMIC_ARCH → cannot judge. ncf's marker with its
    /// value still in OPENBLAS_CORETYPE → upgraded (or ignored, if OpenBLAS runs another core).
    /// A user's OPENBLAS_CORETYPE → kept, with a better core named when there is one. An unranked
    /// core → cannot judge. A core at or above the CPU's tier → keep. NCF_BLAS_AUTOCORE=0 → opted
    /// out. A marker left without its value → no second restart. Otherwise restart with the best core.
    public static func decide(cpu: CPUFeatures, reportedCore: String, dynamicArch: Bool,
                              environment: [String: String], pid: Int32) -> BLASCoreDecision {
        let assumed = environment[assumeVariable].flatMap { $0.isEmpty ? nil : $0 }
        let running = assumed ?? reportedCore
        guard cpu.isX86 else { return .cannotJudge(core: running, reason: .notX86) }
        guard dynamicArch else { return .cannotJudge(core: running, reason: .notDynamicArch) }

        let value = environment[coreTypeVariable].flatMap { $0.isEmpty ? nil : $0 }
        let marker = environment[markerVariable].flatMap(Marker.init)
        if let marker, let value, value.lowercased() == marker.to.lowercased() {
            // ncf's own setting: compare with what OpenBLAS really runs (never the assumed name).
            if reportedCore.lowercased() == marker.to.lowercased() {
                return .upgraded(from: marker.from, to: marker.to, restarted: marker.pid == pid)
            }
            return .upgradeIgnored(requested: marker.to, running: reportedCore)
        }

        let best = bestCore(for: cpu)
        let runningTier = tier(ofCore: running)
        let better = best.flatMap { b -> String? in
            guard let runningTier, let bestTier = tier(ofCore: b), bestTier > runningTier else { return nil }
            return b
        }
        if let value {
            if let needs = tier(ofCore: value), needs > cpu.tier {
                return .userSetUnsupported(value: value, needs: needs, cpu: cpu.tier)
            }
            return .userSet(value: value, running: running, better: better)
        }
        guard runningTier != nil else { return .cannotJudge(core: running, reason: .unknownCore) }
        guard let better else { return .keep(core: running) }
        if let auto = environment[autoVariable], ["0", "false", "no", "off"].contains(auto.lowercased()) {
            return .optedOut(running: running, better: better)
        }
        if let marker { return .upgradeIgnored(requested: marker.to, running: running) }
        return .restart(from: running, to: better)
    }

    /// ncf's marker, `FROM:TO:PID`.
    struct Marker {
        var from: String
        var to: String
        var pid: Int32

        init?(_ text: String) {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3, !parts[1].isEmpty, let pid = Int32(parts[2]) else { return nil }
            (from, to, self.pid) = (parts[0], parts[1], pid)
        }
    }

    // MARK: - This process

    /// The core OpenBLAS runs in this process (`openblas_get_corename()`).
    public static var runningCore: String {
        guard let name = openblas_get_corename() else { return "" }
        return String(cString: name).trimmingCharacters(in: .whitespaces)
    }

    /// OpenBLAS's build description (`openblas_get_config()`), e.g.
    /// "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Cooperlake MAX_THREADS=64".
    public static var openBLASConfig: String {
        guard let text = openblas_get_config() else { return "" }
        return String(cString: text).trimmingCharacters(in: .whitespaces)
    }

    /// Set once by `selectKernels`, before any other thread of ncf's exists.
    nonisolated(unsafe) private static var selected: BLASCoreStatus?

    /// Makes OpenBLAS run the best kernels this CPU and OS allow. Call first thing in `main`,
    /// before any work: when `decide` says `restart`, this executes the program again
    /// (`/proc/self/exe` with the same arguments) with OPENBLAS_CORETYPE and ncf's marker set, and
    /// does not return. If that fails, it removes both variables again and returns, and the
    /// process goes on with the kernels it has. On other systems than Linux it never restarts.
    @discardableResult
    public static func selectKernels() -> BLASCoreStatus {
        let cpu = CPUFeatures.current
        let config = openBLASConfig
        let decision = decide(cpu: cpu, reportedCore: runningCore, dynamicArch: config.contains("DYNAMIC_ARCH"),
                              environment: ProcessInfo.processInfo.environment, pid: getpid())
        var final = decision
        if case let .restart(from, to) = decision {
            #if os(Linux)
            final = restart(from: from, to: to) { execv($0, $1) }
            #else
            final = .restartFailed(from: from, to: to, error: "restarting is implemented on Linux only")
            #endif
        }
        let status = BLASCoreStatus(cpu: cpu, openBLASConfig: config, core: runningCore, decision: final)
        selected = status
        return status
    }

    /// Sets OPENBLAS_CORETYPE=`to` and ncf's marker, and calls `exec` with `/proc/self/exe` and
    /// this process's arguments. `exec` returns only when it fails (as `execv` does); then both
    /// variables are removed again, so that nothing ncf starts later inherits a setting this
    /// process does not run, and the result says what failed. `exec` is a parameter so that the
    /// failure path can be tested.
    static func restart(from: String, to: String,
                        exec: (UnsafePointer<CChar>, UnsafePointer<UnsafeMutablePointer<CChar>?>) -> Int32) -> BLASCoreDecision {
        setenv(coreTypeVariable, to, 1)
        setenv(markerVariable, "\(from):\(to):\(getpid())", 1)
        _ = exec("/proc/self/exe", CommandLine.unsafeArgv)
        let error = String(cString: strerror(errno))
        unsetenv(coreTypeVariable)
        unsetenv(markerVariable)
        return .restartFailed(from: from, to: to, error: "execv /proc/self/exe: \(error)")
    }

    /// What `selectKernels` found and did, or (when it was not called, as in tests) the same facts
    /// with the decision it would take.
    public static var status: BLASCoreStatus {
        if let selected { return selected }
        let config = openBLASConfig
        return BLASCoreStatus(cpu: .current, openBLASConfig: config, core: runningCore,
                              decision: decide(cpu: .current, reportedCore: runningCore, dynamicArch: config.contains("DYNAMIC_ARCH"),
                                               environment: ProcessInfo.processInfo.environment, pid: getpid()))
    }
}

/// The CPU, OpenBLAS's kernels and what ncf did about them, for `ncf doctor`, run summaries and
/// benchmark headers.
public struct BLASCoreStatus: Sendable {
    public var cpu: CPUFeatures
    public var openBLASConfig: String
    /// The core OpenBLAS runs now (`openblas_get_corename()`).
    public var core: String
    public var decision: BLASCoreDecision

    /// "Cooperlake (AVX-512)", or the bare name when ncf does not rank it.
    public var coreWithTier: String {
        BLASCore.tier(ofCore: core).map { "\(core) (\($0))" } ?? core
    }

    /// One line: "OpenBLAS core Cooperlake (AVX-512) on AMD EPYC, chosen by OpenBLAS".
    public var summary: String {
        let by: String
        switch decision.chooser {
        case "ncf": by = "chosen by ncf"
        case "user": by = "set by OPENBLAS_CORETYPE"
        default: by = "chosen by OpenBLAS"
        }
        return "OpenBLAS core \(coreWithTier) on \(cpu.model), \(by)"
    }

    /// The full diagnostics, one fact per line.
    public var lines: [String] {
        var out = ["cpu: \(cpu.model)" + (cpu.vendor.isEmpty ? "" : " (\(cpu.vendor))")]
        if cpu.isX86 {
            out.append("cpu features: " + (cpu.featureNames.isEmpty ? "none above SSE" : cpu.featureNames.joined(separator: " ")))
            out.append("os enables: YMM state \(cpu.osSavesYMM ? "yes" : "no"), ZMM state \(cpu.osSavesZMM ? "yes" : "no")"
                       + " → this CPU runs \(cpu.tier) kernels" + (BLASCore.bestCore(for: cpu).map { " (OpenBLAS core \($0))" } ?? ""))
        }
        out.append("openblas: \(openBLASConfig)")
        out.append("blas core: \(coreWithTier)")
        out.append("blas choice: \(decision.description)")
        if let assumed = ProcessInfo.processInfo.environment[BLASCore.assumeVariable], !assumed.isEmpty {
            out.append("test seam: \(BLASCore.assumeVariable)=\(assumed), so ncf's decision took OpenBLAS's first choice to be \(assumed)")
        }
        if let hint = decision.hint { out.append("note: \(hint)") }
        return out
    }
}
