import ModelGraph
import TensorCore

/// A forward run of an `Executor` that remembers, for each step, its inputs, outputs and what a
/// training-mode forward saved, so that `backward(seeds:)` returns dLoss/dValue for the values asked
/// for (parameters, graph inputs, intermediates).
///
/// The forward is the executor's own kernel for every op (one forward implementation); only ops
/// whose training semantics differ (BatchNormalization, Dropout) run their rule's `trainingForward`.
/// Build the executor with `optimize: false` and the trained weights as graph inputs
/// (`Graph.makingInputs`), so that nothing is fused or constant-folded across a parameter.
public struct Tape {
  struct Entry {
    let step: Executor.Step
    let inputs: [Tensor?]
    let outputs: [Tensor]
    let saved: [Tensor]
    let rule: BackwardRule
    let needsGrad: [Bool]
  }

  let entries: [Entry]
  let slotOfName: [String: Int]
  let values: [Tensor?]
  let constants: [Tensor?]
  let differentiable: Set<Int>
  let opset: Int
  /// New running statistics (training-mode BatchNormalization), by initializer name.
  public let stateUpdates: [String: Tensor]

  /// The value of `name` in this run (graph input, constant or computed), or nil.
  public func value(_ name: String) -> Tensor? {
    guard let s = slotOfName[name] else { return nil }
    return values[s] ?? constants[s]
  }

  /// Reverse sweep. `seeds`: dLoss/dValue for the values the loss reads (each shaped like its value).
  /// Returns dLoss/dValue for each name in `wrt` that the loss reaches (summed over all its uses).
  public func backward(seeds: [String: Tensor], wrt: Set<String>) throws -> [String: Tensor] {
    var grads = [Tensor?](repeating: nil, count: values.count)
    let wanted = Set(wrt.compactMap { slotOfName[$0] })
    for (name, seed) in seeds {
      guard let s = slotOfName[name], let v = values[s] ?? constants[s], v.shape == seed.shape else {
        throw ModelGraphError.invalidModel(
          "gradient seed '\(name)': no such value, or shape \(seed.shape) differs from the value's")
      }
      grads[s] = grads[s].map { accumulated($0, seed) } ?? seed
    }
    for entry in entries.reversed() {
      let outGrads = entry.step.outputSlots.map { $0 < 0 ? nil : grads[$0] }
      if outGrads.allSatisfy({ $0 == nil }) { continue }
      guard let backward = entry.rule.backward else { continue }
      let ctx = BackwardContext(
        forward: OpContext(node: entry.step.node, opset: opset, inputs: entry.inputs), outputs: entry.outputs,
        saved: entry.saved, outputGrads: outGrads, needsGrad: entry.needsGrad)
      let inputGrads = try backward(ctx)
      for (i, s) in entry.step.inputSlots.enumerated() where s >= 0 && entry.needsGrad[i] {
        guard i < inputGrads.count, let g = inputGrads[i] else { continue }
        let expected = entry.inputs[i]?.shape ?? g.shape
        precondition(
          g.shape == expected,
          "backward of '\(entry.step.node.name)' (\(entry.step.node.opType)): gradient of input \(i) is \(g.shape), input is \(expected)")
        grads[s] = grads[s].map { accumulated($0, g) } ?? g
      }
      // Intermediate gradients are dropped once every reader has contributed (their producer ran).
      for s in entry.step.outputSlots where s >= 0 && !wanted.contains(s) { grads[s] = nil }
    }
    var result: [String: Tensor] = [:]
    for name in wrt {
      if let s = slotOfName[name], let g = grads[s] { result[name] = g }
    }
    return result
  }
}

extension Executor {
  /// Runs the graph like `run`, recording a tape for `Tape.backward`. `differentiating` names the
  /// values gradients are wanted for (usually the trained parameters, made graph inputs); only steps
  /// downstream of them are differentiated, and each of those needs a backward rule (else this throws
  /// naming the node and op type, before anything runs). `training` switches BatchNormalization to
  /// batch statistics and turns Dropout on (seeded by `seed` and the step index).
  public func record(
    _ inputs: [String: Tensor], differentiating: Set<String>, training: Bool = false, seed: UInt64 = 0
  ) throws -> Tape {
    let plan = try differentiationPlan(differentiating)
    var values = try feed(inputs)
    var entries: [Tape.Entry] = []
    var stateUpdates: [String: Tensor] = [:]
    for (index, step) in steps.enumerated() {
      let stepInputs = step.inputSlots.map { $0 < 0 ? nil : (values[$0] ?? constants[$0]) }
      var ctx = OpContext(node: step.node, opset: graph.opsetVersion, inputs: stepInputs)
      let rule = plan.rules[index]
      var result: TrainingForward
      if training, let forward = rule?.trainingForward {
        result = try forward(&ctx, seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
      } else {
        result = TrainingForward(outputs: try step.kernel(&ctx))
      }
      for (i, s) in step.outputSlots.enumerated() where s >= 0 && i < result.outputs.count {
        values[s] = result.outputs[i]
      }
      for (i, t) in result.stateUpdates where i < step.node.inputs.count {
        stateUpdates[step.node.inputs[i]] = t
      }
      if let rule, rule.backward != nil {
        let needs = step.inputSlots.enumerated().map { i, s in
          s >= 0 && plan.differentiable.contains(s) && !rule.nonDifferentiableInputs.contains(i)
            && stepInputs[i]?.dtype == .float32
        }
        entries.append(
          Tape.Entry(
            step: step, inputs: stepInputs, outputs: result.outputs, saved: result.saved, rule: rule,
            needsGrad: needs))
      }
    }
    return Tape(
      entries: entries, slotOfName: slotOfName, values: values, constants: constants,
      differentiable: plan.differentiable, opset: graph.opsetVersion, stateUpdates: stateUpdates)
  }

  /// Which slots depend on `names` through differentiable inputs, and each step's rule (nil for steps
  /// not downstream of them). Throws naming the first node on such a path without a backward rule.
  func differentiationPlan(_ names: Set<String>) throws -> (differentiable: Set<Int>, rules: [BackwardRule?]) {
    var live = Set(names.compactMap { slotOfName[$0] })
    var rules: [BackwardRule?] = []
    for step in steps {
      let reached = step.inputSlots.contains { $0 >= 0 && live.contains($0) }
      guard reached || step.node.opType == "BatchNormalization" || step.node.opType == "Dropout" else {
        rules.append(nil)
        continue
      }
      let rule = try BackwardRegistry.rule(for: step.node)
      rules.append(rule)
      let flows = rule.backward != nil && step.inputSlots.enumerated().contains { i, s in
        s >= 0 && live.contains(s) && !rule.nonDifferentiableInputs.contains(i)
      }
      if flows { live.formUnion(step.outputSlots.filter { $0 >= 0 }) }
    }
    return (live, rules)
  }

  /// Throws (naming the node and op type) if some op between `names` and the outputs has no backward.
  public func checkDifferentiable(_ names: Set<String>) throws {
    _ = try differentiationPlan(names)
  }
}

extension Graph {
  /// This graph with the initializers `names` turned into graph inputs (same dtype and shape), so that
  /// an executor built on it neither folds nor pre-packs them and takes new values on every run.
  public func makingInputs(_ names: [String]) -> Graph {
    var g = self
    for name in names {
      guard let t = g.initializers[name] else { continue }
      g.removeInitializer(name)
      g.inputs.removeAll { $0.name == name }
      g.inputs.append(ValueInfo(name: name, dtype: t.dtype, shape: t.shape.map { .fixed($0) }))
    }
    return g
  }
}
