import ArgumentParser
import NCFKernels
import NCFModel

/// `ncf doctor`: what ncf runs on. The CPU, what its OS enables, OpenBLAS's build and the core
/// whose kernels it runs, and what ncf did about that choice (see `BLASCore`).
struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Show the CPU, OpenBLAS's kernels and what ncf did to get the fastest ones.",
        discussion: """
            OpenBLAS picks its kernels for the CPU when it loads; when it runs slower ones than the \
            CPU and OS support (an OpenBLAS older than the CPU), ncf restarts itself once with \
            OPENBLAS_CORETYPE set. A user-set OPENBLAS_CORETYPE always wins; NCF_BLAS_AUTOCORE=0 \
            turns the automatic choice off.
            """)

    func run() {
        print("ncf: \(NCFVersion.string)")
        for line in BLASCore.status.lines { print(line) }
        print("blas threads: \(BLAS.threads) (OpenBLAS's default here; training sets its own: one per worker, --threads for evaluation)")
        print("huge pages: \(Self.hugePages(mode: FloatBuffer.transparentHugePageMode))")
    }

    /// What the kernel's transparent-huge-page mode means for ncf's large buffers (`FloatBuffer`).
    static func hugePages(mode: String?) -> String {
        let size = "\(FloatBuffer.hugePageBytes >> 20) MiB"
        switch mode {
        case "always": return "transparent, always (ncf's buffers of \(size) and more get them)"
        case "madvise": return "transparent, madvise (ncf advises its buffers of \(size) and more)"
        case "never": return "transparent huge pages are off (never): large embedding tables train slower"
        default: return "unknown (no /sys/kernel/mm/transparent_hugepage)"
        }
    }
}
