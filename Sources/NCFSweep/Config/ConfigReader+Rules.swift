import Foundation

// The rules W&B checks when a sweep runs (grid forms, method and metric together), checked at load time here.

extension ConfigReader {
    mutating func checkRuntimeRules() {
        guard let method else { return }
        switch method {
        case .grid:
            for parameter in parameters { checkGrid(parameter, path: "parameters." + parameter.name) }
        case .bayes:
            if !metricPresent {
                error("Bayesian search requires \"metric\" section", line: methodLine, key: "metric",
                      hint: "add `metric: {name: Valid Loss, goal: minimize}` naming the logged value to optimise", kind: .runtime)
            }
            if parametersComplete, !parameters.contains(where: { Self.isSearchable($0.spec) }) {
                error("Need at least one searchable parameter for bayes search.", line: parametersLine, key: "parameters",
                      hint: "give a parameter `values` or a distribution; constants, given by `value`, are not searched", kind: .runtime)
            }
        case .random:
            break
        }
        if earlyTerminatePresent {
            if !metricPresent {
                error("early terminate requires \"metric\" section", line: earlyTerminateLine, key: "early_terminate",
                      hint: "add `metric: {name: Valid Loss, goal: minimize}`: hyperband compares runs by it", kind: .runtime)
            }
            if let hb = hyperband, let maxIter = hb.maxIter, let s = hb.s,
               Self.maxIterBands(maxIter: maxIter, s: s, eta: hb.eta).isEmpty {
                error("Bands must be an array of length at least 1. Try increasing s, decreasing eta, or increasing min_iter.",
                      line: earlyTerminateLine, key: "early_terminate",
                      hint: "max_iter \(maxIter) divided by eta \(ParamValue.jsonNumber(hb.eta)) leaves no band of at least 1 logged value",
                      kind: .runtime)
            }
        }
    }

    static func isSearchable(_ spec: ParameterSpec) -> Bool {
        switch spec {
        case .constant: return false
        case .nested(let children): return children.contains { isSearchable($0.spec) }
        default: return true
        }
    }

    mutating func checkGrid(_ parameter: Parameter, path: String) {
        let kind: String
        switch parameter.spec {
        case .constant, .intUniform, .qUniform, .categorical(_, nil):
            return
        case .nested(let children):
            for child in children { checkGrid(child, path: path + ".parameters." + child.name) }
            return
        case .categorical: kind = "categorical with probabilities"
        case .uniform: kind = "uniform"
        case .logUniformValues: kind = "log_uniform_values"
        case .qLogUniformValues: kind = "q_log_uniform_values"
        case .invLogUniformValues: kind = "inv_log_uniform_values"
        case .normal: kind = "normal"
        case .qNormal: kind = "q_normal"
        case .logNormal: kind = "log_normal"
        case .qLogNormal: kind = "q_log_normal"
        case .beta: kind = "beta"
        case .qBeta: kind = "q_beta"
        }
        error("Parameter \(parameter.name) is a disallowed type with grid search (\(kind))", line: parameter.line, key: path,
              hint: "Grid search requires all parameters to be categorical, constant, int_uniform, or q_uniform, without probabilities; list `values:`, or use method random or bayes",
              kind: .runtime)
    }
}
