import Foundation
import NCFKernels

/// The lines every ncf-bench header starts with: the CPU, and OpenBLAS's kernels with who chose
/// them (`BLASCore`). A figure means little without them: the same binary trains ~3× slower on
/// OpenBLAS's SSE kernels than on its AVX-512 ones.
func machineLines() -> [String] {
    let blas = BLASCore.status
    let cores = ProcessInfo.processInfo.activeProcessorCount
    var lines = ["cpu: \(blas.cpu.model), \(cores) logical CPU\(cores == 1 ? "" : "s"), runs \(blas.cpu.tier) kernels"
                 + (blas.cpu.featureNames.isEmpty ? "" : " (\(blas.cpu.featureNames.joined(separator: " ")))")]
    lines.append("blas: \(blas.summary.replacingOccurrences(of: " on \(blas.cpu.model)", with: "")) — \(blas.decision.description); "
                 + blas.openBLASConfig)
    if let hint = blas.decision.hint { lines.append("note: \(hint)") }
    return lines
}

/// The machine's fields for JSON output: `cpu`, `blas_core` and who chose it.
func machineJSON() -> [(String, JSONValue)] {
    let blas = BLASCore.status
    return [("cpu", .string(blas.cpu.model)), ("blas_core", .string(blas.core)), ("blas_core_chosen_by", .string(blas.decision.chooser))]
}
