import Foundation
import NCFRunContract

// `parameters`: every form and distribution, nested groups, and their values.

extension ConfigReader {
    mutating func readParameters(_ e: ConfigEntry) {
        parametersLine = e.line
        guard let entries = mapping(e.value, key: "parameters", example: "`parameters: {lr: {min: 0.001, max: 0.1}}`") else { return }
        let (list, complete) = readParameterList(entries, path: "parameters", ownerLine: e.line)
        parameters = list
        parametersComplete = complete
    }

    /// Reads a mapping of parameter specs; `complete` when every one was read without a problem.
    mutating func readParameterList(_ entries: [ConfigEntry], path: String, ownerLine: Int) -> ([Parameter], Bool) {
        if entries.isEmpty {
            error("`\(lastComponent(path))` should be non-empty", line: ownerLine, key: path,
                  hint: "give at least one parameter, e.g. `lr: {values: [0.01, 0.001]}`")
            return ([], false)
        }
        var list: [Parameter] = []
        var complete = true
        for entry in entries {
            if let p = readParameter(entry, path: join(path, entry.key)) { list.append(p) } else { complete = false }
        }
        return (list.sorted { $0.name < $1.name }, complete)
    }

    static let parameterKeys = ["distribution", "value", "values", "probabilities", "min", "max", "q", "mu", "sigma", "a", "b", "parameters"]

    /// Each explicit distribution's required and optional keys (besides `distribution`).
    static let distributionKeys: [(name: String, required: [String], optional: [String])] = [
        ("constant", ["value"], []),
        ("categorical", ["values"], []),
        ("categorical_w_probabilities", ["values", "probabilities"], []),
        ("int_uniform", ["min", "max"], []),
        ("uniform", ["min", "max"], []),
        ("q_uniform", ["min", "max"], ["q"]),
        ("log_uniform_values", ["min", "max"], []),
        ("q_log_uniform_values", ["min", "max"], ["q"]),
        ("inv_log_uniform_values", ["min", "max"], []),
        ("normal", [], ["mu", "sigma"]),
        ("q_normal", [], ["mu", "sigma", "q"]),
        ("log_normal", [], ["mu", "sigma"]),
        ("q_log_normal", [], ["mu", "sigma", "q"]),
        ("beta", [], ["a", "b"]),
        ("q_beta", [], ["a", "b", "q"]),
    ]

    static let deprecatedDistributions = ["log_uniform": "log_uniform_values", "q_log_uniform": "q_log_uniform_values",
                                          "inv_log_uniform": "inv_log_uniform_values"]

    /// A limit for a hint: 4 significant digits, whole numbers without a fraction (`32`, `0.0001`).
    static func limitText(_ x: Double) -> String {
        if x >= 1, x < 1e9, abs(x - x.rounded()) < 1e-3 * x { return String(Int(x.rounded())) }
        return String(format: "%.4g", x)
    }

    /// Whether `name` matches the schema's `^[A-Za-z_][A-Za-z0-9_.-]*$`.
    static func isValidParameterName(_ name: String) -> Bool {
        func letter(_ c: Unicode.Scalar) -> Bool { ("A"..."Z").contains(c) || ("a"..."z").contains(c) || c == "_" }
        let scalars = Array(name.unicodeScalars)
        guard let first = scalars.first, letter(first) else { return false }
        return scalars.dropFirst().allSatisfy { letter($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "-" }
    }

    mutating func readParameter(_ entry: ConfigEntry, path: String) -> Parameter? {
        let name = entry.key
        var ok = true
        if !Self.isValidParameterName(name) {
            error("parameter name '\(name)' does not match '^[A-Za-z_][A-Za-z0-9_.-]*$'", line: entry.line, key: path,
                  hint: "start with a letter or `_`, then letters, digits, `_`, `.` or `-`")
            ok = false
        }
        guard case .mapping(let entries) = entry.value.content else {
            error("Invalid configuration for hyperparameter '\(name)': expected a mapping, found \(Self.describe(entry.value))",
                  line: entry.line, key: path,
                  hint: "write e.g. `\(name): {value: \(entry.value.text.isEmpty ? "0.1" : entry.value.text)}` for a constant or `\(name): {values: [a, b]}`")
            return nil
        }
        let keys = known(entries, allowed: Self.parameterKeys, path: path, context: "in a parameter")
        if keys.count != entries.count { ok = false }
        guard let spec = readSpec(name: name, keys: keys, path: path, line: entry.line) else { return nil }
        return ok ? Parameter(name: name, spec: spec, line: entry.line) : nil
    }

    /// Chooses the parameter's form (explicit `distribution`, or W&B's inference) and reads it.
    mutating func readSpec(name: String, keys: [String: ConfigEntry], path: String, line: Int) -> ParameterSpec? {
        let present = Set(keys.keys)
        let form: String
        if let d = keys["distribution"] {
            guard let dname = string(d.value, key: path + ".distribution") else { return nil }
            if let replacement = Self.deprecatedDistributions[dname] {
                // The same range as limit values: e^min and e^max (inverted forms keep the example).
                var limits = "e.g. min: 0.0001, max: 0.1"
                if dname != "inv_log_uniform", let lo = keys["min"].flatMap({ Double($0.value.text) }),
                   let hi = keys["max"].flatMap({ Double($0.value.text) }), abs(lo) < 80, abs(hi) < 80 {
                    limits = "here min: \(Self.limitText(exp(lo))), max: \(Self.limitText(exp(hi))) (e^\(keys["min"]!.value.text) and e^\(keys["max"]!.value.text))"
                }
                error("\(name) uses \(dname), where min/max specify base-e exponents. Use \(replacement) to specify limit values.",
                      line: d.line, key: path + ".distribution",
                      hint: "write `distribution: \(replacement)` with min and max as the values themselves, \(limits)")
                return nil
            }
            guard let rule = Self.distributionKeys.first(where: { $0.name == dname }) else {
                let names = Self.distributionKeys.map(\.name)
                let guess = Spelling.suggestion(for: dname, in: names).map { "did you mean `\($0)`? " } ?? ""
                error("unknown distribution `\(dname)`", line: d.line, key: path + ".distribution",
                      hint: guess + "distributions: " + names.joined(separator: ", "))
                return nil
            }
            if dname == "categorical", present.contains("probabilities") {
                error("`distribution: categorical` cannot have `probabilities`", line: keys["probabilities"]!.line,
                      key: path + ".probabilities",
                      hint: "remove the `distribution` line, since values with probabilities are inferred, or remove probabilities")
                return nil
            }
            var ok = true
            let allowedKeys = Set(rule.required + rule.optional + ["distribution"])
            for key in present.subtracting(allowedKeys).sorted(by: { keys[$0]!.line < keys[$1]!.line }) {
                let takes = rule.required + rule.optional
                error("`\(key)` is not allowed with `distribution: \(dname)`", line: keys[key]!.line, key: path + "." + key,
                      hint: takes.isEmpty ? "remove it" : "\(dname) takes " + takes.map { "`\($0)`" }.joined(separator: ", "))
                ok = false
            }
            for key in rule.required where !present.contains(key) {
                error("`distribution: \(dname)` needs `\(key)`", line: d.line, key: path + "." + key,
                      hint: "\(dname) needs " + rule.required.map { "`\($0)`" }.joined(separator: " and "))
                ok = false
            }
            guard ok else { return nil }
            form = dname
        } else if present.contains("parameters") {
            let others = present.subtracting(["parameters"])
            if !others.isEmpty {
                for key in others.sorted() {
                    error("`\(key)` is not allowed beside `parameters` (a nested group)", line: keys[key]!.line,
                          key: path + "." + key, hint: "a nested group holds only `parameters:`; move it into a child parameter")
                }
                return nil
            }
            form = "nested"
        } else if present.contains("value"), present.contains("values") {
            error("`value` and `values` cannot be used together", line: keys["values"]!.line, key: path,
                  hint: "use `value` for a constant or `values` for a list to choose from")
            return nil
        } else if present.contains("value") {
            guard allOnly(["value"], keys: keys, path: path, why: "`value` makes a constant") else { return nil }
            form = "constant"
        } else if present.contains("values") {
            let withProbabilities = present.contains("probabilities")
            guard allOnly(withProbabilities ? ["values", "probabilities"] : ["values"], keys: keys, path: path,
                          why: "`values` makes a categorical parameter") else { return nil }
            form = withProbabilities ? "categorical_w_probabilities" : "categorical"
        } else if present.contains("min"), present.contains("max") {
            let extra = present.subtracting(["min", "max"])
            if !extra.isEmpty {
                for key in extra.sorted() {
                    let hint = key == "q"
                        ? "add `distribution: q_uniform` (or q_log_uniform_values)"
                        : "add the `distribution` it belongs to (min/max alone infer int_uniform or uniform)"
                    error("`\(key)` needs a `distribution`", line: keys[key]!.line, key: path + "." + key, hint: hint)
                }
                return nil
            }
            let lo = keys["min"]!.value, hi = keys["max"]!.value
            if case .scalar(.int) = lo.content, case .scalar(.int) = hi.content {
                form = "int_uniform"
            } else {
                form = "uniform"
            }
        } else if present.contains("min") || present.contains("max") {
            let missing = present.contains("min") ? "max" : "min"
            error("`\(missing)` is missing", line: line, key: path + "." + missing,
                  hint: "give both min and max: integers for int_uniform, otherwise uniform")
            return nil
        } else if let key = ["mu", "sigma", "a", "b", "q"].first(where: present.contains) {
            let which = ["a", "b"].contains(key) ? "beta or q_beta" : key == "q" ? "q_uniform, q_normal, …" : "normal, log_normal, q_normal or q_log_normal"
            error("`\(key)` needs a `distribution`", line: keys[key]!.line, key: path + "." + key,
                  hint: "add `distribution:` \(which)")
            return nil
        } else if present.contains("probabilities") {
            error("`probabilities` needs `values`", line: keys["probabilities"]!.line, key: path + ".probabilities",
                  hint: "give the values the probabilities belong to")
            return nil
        } else {
            error("parameter `\(name)` has no form", line: line, key: path,
                  hint: "give `value`, `values`, `min` and `max`, a `distribution`, or nested `parameters`")
            return nil
        }
        return buildSpec(form: form, name: name, keys: keys, path: path, line: line)
    }

    /// Reports keys beside `allowed` (for inferred forms); false when there are any.
    mutating func allOnly(_ allowed: Set<String>, keys: [String: ConfigEntry], path: String, why: String) -> Bool {
        let extra = Set(keys.keys).subtracting(allowed)
        for key in extra.sorted() {
            error("`\(key)` is not allowed with `\(allowed.contains("values") ? "values" : "value")`", line: keys[key]!.line,
                  key: path + "." + key, hint: "\(why); remove `\(key)` or give a `distribution`")
        }
        return extra.isEmpty
    }

    /// Reads the keys of a chosen form into a spec, checking each constraint.
    mutating func buildSpec(form: String, name: String, keys: [String: ConfigEntry], path: String, line: Int) -> ParameterSpec? {
        func key(_ k: String) -> String { path + "." + k }
        var ok = true

        // Optional numbers with defaults; `q` also says whether it was written as an integer.
        func optionalNumber(_ k: String, _ fallback: Double, _ reader: inout ConfigReader) -> (Double, Bool)? {
            guard let e = keys[k] else { return (fallback, false) }
            guard let v = reader.number(e.value, key: key(k)) else { return nil }
            return (v.value, v.isInteger)
        }
        func nonNegative(_ k: String, _ v: Double, _ reader: inout ConfigReader) -> Bool {
            guard v >= 0 else {
                reader.error("`\(k)` must be ≥ 0, found \(keys[k]!.value.text)", line: keys[k]!.line, key: key(k),
                             hint: "give a value of at least 0")
                return false
            }
            return true
        }
        func readQ(_ reader: inout ConfigReader) -> (q: Double, integerQ: Bool)? {
            guard let (q, isInt) = optionalNumber("q", 1.0, &reader) else { return nil }
            guard q > 0 else {
                reader.error("`q` must be greater than 0, found \(keys["q"]!.value.text)", line: keys["q"]!.line, key: key("q"),
                             hint: "q is the step values are rounded to, e.g. 1 or 0.05")
                return nil
            }
            return (q, isInt)
        }
        func bounds(_ reader: inout ConfigReader, integers: Bool, positiveMin: Bool) -> (Double, Double)? {
            let lo = keys["min"]!, hi = keys["max"]!
            var a: Double?, b: Double?
            if integers {
                if let i = reader.intBound(lo.value, key: key("min"), form: form) { a = Double(i) }
                if let i = reader.intBound(hi.value, key: key("max"), form: form) { b = Double(i) }
            } else {
                a = reader.number(lo.value, key: key("min"))?.value
                b = reader.number(hi.value, key: key("max"))?.value
            }
            guard let a, let b else { return nil }
            var good = true
            if positiveMin && a <= 0 {
                reader.error("`min` must be greater than 0 for \(form), found \(lo.value.text)", line: lo.line, key: key("min"),
                             hint: "a log scale needs positive bounds; use uniform to include 0 or negatives")
                good = false
            }
            if a >= b {
                reader.error("min \(lo.value.text) is not less than max \(hi.value.text)", line: lo.line, key: path,
                             hint: a == b ? "make min smaller than max, or use `value` for a constant" : "make min smaller than max; were they swapped?")
                good = false
            }
            return good ? (a, b) : nil
        }

        switch form {
        case "constant":
            guard noNUL(keys["value"]!.value, key: key("value")) else { return nil }
            return .constant(keys["value"]!.value.value)
        case "categorical", "categorical_w_probabilities":
            let v = keys["values"]!
            guard case .sequence(let items) = v.value.content else {
                error("`values` must be a list, found \(Self.describe(v.value))", line: v.line, key: key("values"),
                      hint: "write `values: [\(v.value.text.isEmpty ? "a, b" : v.value.text)]`, or `value:` for a constant")
                return nil
            }
            if items.isEmpty {
                error("`values` should be non-empty", line: v.line, key: key("values"), hint: "list at least one value")
                return nil
            }
            for (i, item) in items.enumerated() where !noNUL(item, key: key("values[\(i)]")) { ok = false }
            guard ok else { return nil }
            let values = items.map(\.value)
            guard form == "categorical_w_probabilities" else { return .categorical(values, probabilities: nil) }
            let p = keys["probabilities"]!
            guard case .sequence(let pItems) = p.value.content, !pItems.isEmpty else {
                error("`probabilities` must be a non-empty list of numbers, found \(Self.describe(p.value))", line: p.line,
                      key: key("probabilities"), hint: "give one probability per value, e.g. [0.5, 0.5]")
                return nil
            }
            var probabilities: [Double] = []
            for (i, item) in pItems.enumerated() {
                guard let x = number(item, key: key("probabilities[\(i)]")) else { ok = false; continue }
                if x.value < 0 {
                    error("probability \(item.text) is negative", line: item.line, key: key("probabilities[\(i)]"),
                          hint: "probabilities are ≥ 0")
                    ok = false
                }
                probabilities.append(x.value)
            }
            guard ok else { return nil }
            let shownValues = "[" + items.map(\.shown).joined(separator: ", ") + "]"
            let shownProbabilities = "[" + pItems.map(\.text).joined(separator: ", ") + "]"
            if probabilities.count != values.count {
                error("values \(shownValues) and probabilities \(shownProbabilities) are not the same length", line: p.line,
                      key: key("probabilities"),
                      hint: "give one probability per value: \(values.count) values, \(probabilities.count) probabilities")
                return nil
            }
            let sum = probabilities.reduce(0, +)
            // numpy isclose(sum, 1): |sum − 1| ≤ atol + rtol·1 with atol 1e-8, rtol 1e-5.
            if abs(sum - 1) > 1e-8 + 1e-5 {
                error("probabilities \(shownProbabilities) do not sum to 1 (their sum is \(ParamValue.jsonNumber(sum)))",
                      line: p.line, key: key("probabilities"), hint: "scale them so they add up to 1")
                return nil
            }
            return .categorical(values, probabilities: probabilities)
        case "int_uniform":
            guard let (a, b) = bounds(&self, integers: true, positiveMin: false) else { return nil }
            return .intUniform(min: Int(a), max: Int(b))
        case "uniform":
            guard let (a, b) = bounds(&self, integers: false, positiveMin: false) else { return nil }
            return .uniform(min: a, max: b)
        case "q_uniform":
            let q = readQ(&self)
            guard let (a, b) = bounds(&self, integers: false, positiveMin: false), let q else { return nil }
            return .qUniform(min: a, max: b, q: q.q, integerQ: q.integerQ)
        case "log_uniform_values":
            guard let (a, b) = bounds(&self, integers: false, positiveMin: true) else { return nil }
            return .logUniformValues(min: a, max: b)
        case "q_log_uniform_values":
            let q = readQ(&self)
            guard let (a, b) = bounds(&self, integers: false, positiveMin: true), let q else { return nil }
            return .qLogUniformValues(min: a, max: b, q: q.q, integerQ: q.integerQ)
        case "inv_log_uniform_values":
            guard let (a, b) = bounds(&self, integers: false, positiveMin: true) else { return nil }
            return .invLogUniformValues(min: a, max: b)
        case "normal", "log_normal", "q_normal", "q_log_normal":
            let mu = optionalNumber("mu", 0, &self)
            let sigma = optionalNumber("sigma", 1, &self)
            let q: (q: Double, integerQ: Bool)? = form.hasPrefix("q_") ? readQ(&self) : (1.0, false)
            guard let mu, let sigma, let q else { return nil }
            guard nonNegative("sigma", sigma.0, &self) else { return nil }
            switch form {
            case "normal": return .normal(mu: mu.0, sigma: sigma.0)
            case "log_normal": return .logNormal(mu: mu.0, sigma: sigma.0)
            case "q_normal": return .qNormal(mu: mu.0, sigma: sigma.0, q: q.0, integerQ: q.1)
            default: return .qLogNormal(mu: mu.0, sigma: sigma.0, q: q.0, integerQ: q.1)
            }
        case "beta", "q_beta":
            let a = optionalNumber("a", 1, &self)
            let b = optionalNumber("b", 1, &self)
            let q: (q: Double, integerQ: Bool)? = form == "q_beta" ? readQ(&self) : (1.0, false)
            guard let a, let b, let q else { return nil }
            let aOK = nonNegative("a", a.0, &self), bOK = nonNegative("b", b.0, &self)
            guard aOK, bOK else { return nil }
            return form == "beta" ? .beta(a: a.0, b: b.0) : .qBeta(a: a.0, b: b.0, q: q.0, integerQ: q.1)
        case "nested":
            let p = keys["parameters"]!
            guard let entries = mapping(p.value, key: key("parameters"), example: "`parameters: {dropout: {values: [0.1, 0.2]}}`") else {
                return nil
            }
            let (children, complete) = readParameterList(entries, path: key("parameters"), ownerLine: p.line)
            return complete ? .nested(children) : nil
        default:
            preconditionFailure("unhandled parameter form \(form)")
        }
    }

    /// An integer bound of `int_uniform`, with a hint pointing at `uniform` for real values.
    mutating func intBound(_ node: ConfigNode, key: String, form: String) -> Int? {
        if case .scalar(.int(let i)) = node.content { return i }
        if case .scalar(.double) = node.content {
            error("\(form) needs an integer `\(lastComponent(key))`, found \(node.text)", line: node.line, key: key,
                  hint: "write a whole number, or use `distribution: uniform` for real values")
            return nil
        }
        return integer(node, key: key)
    }
}
