import NCFRunContract

/// Mistakes on the command line that the argument parser reports badly, named before it parses:
/// a mistyped command (`ncf trian`, which would otherwise fall through to `train` as an unexpected
/// argument) and the flag names other trainers use for ncf's (`--learning_rate` for `--lr`), which
/// are too far from ncf's names for the parser's own suggestion.
enum CommandLineCheck {
    /// Other trainers' names for ncf's flags (PyTorch scripts, LibRec, Surprise, the NCF paper's code).
    static let flagSynonyms: [String: String] = [
        "learning_rate": "lr", "learning-rate": "lr", "learningrate": "lr",
        "num_epochs": "epochs", "num-epochs": "epochs", "n_epochs": "epochs", "n-epochs": "epochs", "max_epochs": "epochs",
        "embedding_dim": "embed_dim", "embedding-dim": "embed_dim", "embedding_size": "embed_dim", "embed_size": "embed_dim",
        "emb_dim": "embed_dim", "num_factors": "embed_dim", "factors": "embed_dim", "n_factors": "embed_dim",
        "layers": "mlp_dims", "hidden_dims": "mlp_dims", "hidden_layers": "mlp_dims",
        "num_neg": "negatives", "num_negatives": "negatives", "neg_ratio": "negatives",
        "reg": "embed_l2", "l2": "embed_l2", "reg_all": "embed_l2", "bs": "batch_size",
    ]

    /// The problem with `arguments` (without the program name), or nil. `commands` are the
    /// top-level subcommand names.
    static func problem(in arguments: [String], commands: [String]) -> String? {
        if let first = arguments.first, !first.hasPrefix("-"), !commands.contains(first), first != "help" {
            let guess = Spelling.suggestion(for: first, in: commands).map { "did you mean `ncf \($0)`? " } ?? ""
            return "unknown command `\(first)`; \(guess)(`ncf --help` lists the commands; with no command, ncf trains: `ncf --data FILE`)"
        }
        for argument in arguments.prefix(while: { $0 != "--" }) where argument.hasPrefix("--") {
            let name = String(argument.dropFirst(2).prefix { $0 != "=" })
            if let ours = flagSynonyms[name.lowercased()] {
                return "unknown option `--\(name)`; ncf calls it `--\(ours)` (the sweep YAML's parameter name). `ncf --help` lists the flags."
            }
        }
        return nil
    }
}
