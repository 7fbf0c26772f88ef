import NCFRunContract
import NCFSweep

extension BuiltInTrainer {
    /// A built-in trainer with these flags, the run contract's metrics, topk 10 and task rating
    /// (implicit for `format: ncf`), as `ncf` passes it.
    static func flags(_ flags: Set<String>) -> BuiltInTrainer {
        BuiltInTrainer(flags: flags, defaultTopK: 10, defaultTask: { $0 == "ncf" ? .implicit : .rating })
    }
}
