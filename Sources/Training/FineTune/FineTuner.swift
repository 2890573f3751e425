import ModelGraph
import Runtime
import TensorCore

/// What fine-tuning minimises: a distillation term against a dense teacher's output, a labelled
/// cross-entropy term on the first output when the batch has labels, or both (weighted sum).
public struct FineTuneObjective: Sendable {
  public enum Distillation: String, Sendable, CaseIterable {
    /// Mean squared error on the output (hidden states or logits), padded rows excluded.
    case mse
    /// Cosine distance per row of the output's last axis (per token for hidden states).
    case cosine
    /// Cosine distance of the mean-pooled sentence embeddings (needs `maskInput`).
    case pooledCosine = "pooled-cosine"
    /// KL divergence of temperature-softened logits, × T².
    case kl
    /// No output term: only the layer-wise hidden-state terms (`hiddenStates`).
    case hidden
  }

  public var distillation: Distillation?
  /// The output distilled (student and teacher); nil = the first graph output.
  public var output: String?
  public var temperature: Float
  public var distillationWeight: Float
  public var labelWeight: Float
  /// The graph input holding the attention mask [N, T] (texts): padded tokens leave the loss.
  public var maskInput: String?
  /// Layer-wise distillation (TinyBERT, Jiao et al. 2020): student values matched to the teacher's
  /// values of the same name (same architecture), e.g. `DistillationLayers.resolve("all", in:)`.
  public var hiddenStates: [String]
  /// The per-token loss of each hidden state: `.mse` or `.cosine` (padded tokens excluded).
  public var layerLoss: Distillation
  /// Weight of the hidden-state term: layerWeight × the mean of the per-state losses.
  public var layerWeight: Float

  public init(
    distillation: Distillation? = nil, output: String? = nil, temperature: Float = 2, distillationWeight: Float = 1,
    labelWeight: Float = 1, maskInput: String? = nil, hiddenStates: [String] = [], layerLoss: Distillation = .mse,
    layerWeight: Float = 1
  ) {
    self.distillation = distillation
    self.output = output
    self.temperature = temperature
    self.distillationWeight = distillationWeight
    self.labelWeight = labelWeight
    self.maskInput = maskInput
    self.hiddenStates = hiddenStates
    self.layerLoss = layerLoss
    self.layerWeight = layerWeight
  }

  /// Whether any term needs a teacher.
  var distils: Bool { distillation != nil || !hiddenStates.isEmpty }
}

/// One mini-batch: the graph inputs by name (batch first) and, optionally, 0-based class labels.
public struct FineTuneBatch: Sendable {
  public var inputs: [String: Tensor]
  public var labels: [Int]?
  public init(inputs: [String: Tensor], labels: [Int]? = nil) {
    self.inputs = inputs
    self.labels = labels
  }
}

/// What one fine-tuning step measured.
public struct FineTuneStepReport: Sendable, Codable {
  public var step: Int
  public var loss: Float
  public var distillationLoss: Float?
  /// The mean per-state loss of the hidden-state term, when there is one.
  public var layerLoss: Float?
  public var labelLoss: Float?
  public var correct: Int?
  public var count: Int
  public var learningRate: Float
}

/// Fine-tunes (and distils) any graph the executor runs and `Runtime`'s backward rules cover, with
/// AdamW, holding the graph's masks: pruned weights, their gradients and optimiser moments stay
/// exactly zero.
public final class FineTuner {
  public let student: DifferentiableGraph
  public private(set) var parameters: ParameterSet
  public var optimizer: Adam
  public let objective: FineTuneObjective
  public private(set) var step = 0
  let teacher: Executor?
  let outputName: String
  private var state: [String: Tensor]

  public init(student graph: Graph, teacher: Graph?, objective: FineTuneObjective, optimizer: Adam) throws {
    guard let first = graph.outputs.first else {
      throw TrainingError.invalidArgument(what: "model '\(graph.name)'", message: "has no outputs")
    }
    let output = objective.output ?? first.name
    guard graph.outputs.contains(where: { $0.name == output }) || graph.producer(of: output) != nil else {
      throw TrainingError.invalidArgument(
        what: "distilled output '\(output)'", message: "is not a value of model '\(graph.name)'")
    }
    outputName = output
    if objective.distils, teacher == nil {
      throw TrainingError.invalidArgument(what: "distillation", message: "needs a teacher model (--teacher)")
    }
    if objective.distillation == .hidden, objective.hiddenStates.isEmpty {
      throw TrainingError.invalidArgument(what: "hidden-state distillation", message: "names no hidden states")
    }
    guard [.mse, .cosine].contains(objective.layerLoss) else {
      throw TrainingError.invalidArgument(
        what: "layer loss \(objective.layerLoss.rawValue)", message: "hidden states are matched with mse or cosine")
    }
    for name in objective.hiddenStates where graph.producer(of: name) == nil {
      throw TrainingError.invalidArgument(
        what: "distilled hidden state '\(name)'", message: "is not a value computed by model '\(graph.name)'")
    }
    if objective.distillation == .pooledCosine, objective.maskInput == nil {
      throw TrainingError.invalidArgument(what: "pooled-cosine distillation", message: "needs the attention-mask input")
    }
    parameters = try ParameterSet(graph: graph)
    guard parameters.count > 0 else {
      throw TrainingError.invalidArgument(what: "model '\(graph.name)'", message: "has no trainable float32 weights")
    }
    student = try DifferentiableGraph(graph: graph, parameters: parameters.names)
    state = [:]
    for name in student.stateNames { state[name] = graph.initializers[name] }
    do {
      self.teacher = try teacher.map { try Executor(graph: $0) }
    } catch let error as ModelGraphError {
      throw TrainingError.graph("teacher: \(error.description)")
    }
    self.objective = objective
    self.optimizer = optimizer
  }

  /// The student with the current weights and running statistics (masks kept in `graph.masks`).
  public var graph: Graph {
    var g = student.graph
    parameters.write(into: &g)
    for (name, t) in state { g.setInitializer(name, t) }
    return g
  }

  /// Restores weights, optimiser moments and the step counter from a checkpoint.
  public func restore(_ checkpoint: FineTuneCheckpoint) throws {
    for (i, name) in parameters.names.enumerated() {
      guard let w = checkpoint.weights[name], w.count == parameters.values[i].count else {
        throw TrainingError.invalidArgument(
          what: "checkpoint", message: "has no weight '\(name)' of \(parameters.shapes[i]) (another model?)")
      }
      parameters.values[i] = w
    }
    parameters.applyMasks()
    for name in student.stateNames { if let t = checkpoint.state[name] { state[name] = t } }
    if !checkpoint.firstMoments.isEmpty {
      guard checkpoint.firstMoments.count == parameters.count, checkpoint.secondMoments.count == parameters.count else {
        throw TrainingError.invalidArgument(what: "checkpoint", message: "optimiser moments do not match the parameters")
      }
      optimizer.restore(first: checkpoint.firstMoments, second: checkpoint.secondMoments, stepCount: checkpoint.step)
    }
    step = checkpoint.step
  }

  /// The checkpoint of the current state.
  public func checkpoint() -> FineTuneCheckpoint {
    var weights: [String: [Float]] = [:]
    for (i, name) in parameters.names.enumerated() { weights[name] = parameters.values[i] }
    let moments = optimizer.moments
    return FineTuneCheckpoint(
      step: step, weights: weights, shapes: Dictionary(uniqueKeysWithValues: zip(parameters.names, parameters.shapes)),
      names: parameters.names, firstMoments: moments.first, secondMoments: moments.second, state: state)
  }

  /// Runs the student (and teacher) once on `batch` without updating anything and checks that the
  /// outputs fit: teacher and student outputs of one shape, logits [N, classes] covering the labels.
  public func check(_ batch: FineTuneBatch) throws {
    _ = try lossAndGradients(batch, training: false, seed: 0)
  }

  /// One AdamW step on `batch`.
  @discardableResult
  public func step(_ batch: FineTuneBatch, learningRate: Float, seed: UInt64) throws -> FineTuneStepReport {
    var (report, grads, updates) = try lossAndGradients(batch, training: true, seed: seed &+ UInt64(step))
    guard report.loss.isFinite else { throw TrainingError.nonFiniteLoss(step: step, epoch: 0, loss: report.loss) }
    optimizer.update(&parameters, gradients: grads, learningRate: learningRate)
    for (name, t) in updates where state[name] != nil { state[name] = t }
    report.learningRate = learningRate
    step += 1
    return report
  }

  func lossAndGradients(_ batch: FineTuneBatch, training: Bool, seed: UInt64) throws -> (
    FineTuneStepReport, [[Float]], [String: Tensor]
  ) {
    var feed = parameters.tensors()
    for (name, t) in state { feed[name] = t }
    let pass = try student.forward(batch.inputs, parameters: feed, context: ForwardContext(training: training, seed: seed))
    guard let y = pass.value(outputName) else {
      throw TrainingError.missingValue(node: "graph output", name: outputName)
    }
    let count = y.rank > 0 ? y.shape[0] : 1
    var report = FineTuneStepReport(step: step, loss: 0, count: count, learningRate: 0)
    var seeds = [outputName: Tensor.zeros(y.shape)]
    if objective.distils, let teacher {
      let kept = try teacherValues(teacher, batch, [outputName] + objective.hiddenStates)
      let t = kept[outputName]!
      guard t.shape == y.shape else {
        throw TrainingError.shapeMismatch(
          node: "teacher output '\(outputName)'", expected: "the student's \(y.shape)", found: "\(t.shape)")
      }
      let mask = try objective.maskInput.map { name -> [Float] in
        guard let m = batch.inputs[name] else { throw TrainingError.missingValue(node: "graph input", name: name) }
        return m.asFloats()
      }
      /// The attention mask as one weight per row of `x`'s last axis (tokens of hidden states), if it fits.
      func rowWeights(_ x: Tensor) -> [Float]? {
        mask.flatMap { $0.count == x.count / Swift.max(x.shape.last ?? 1, 1) ? $0 : nil }
      }
      var total: Float = 0
      if let kind = objective.distillation, kind != .hidden {
        let (loss, grad): (Float, Tensor)
        switch kind {
        case .mse: (loss, grad) = try Loss.meanSquaredError(student: y, teacher: t, rowWeights: rowWeights(y))
        case .cosine: (loss, grad) = try Loss.cosineDistance(student: y, teacher: t, rowWeights: rowWeights(y))
        case .pooledCosine: (loss, grad) = try Loss.pooledCosineDistance(student: y, teacher: t, mask: mask ?? [])
        case .kl: (loss, grad) = try Loss.klDivergence(student: y, teacher: t, temperature: objective.temperature)
        case .hidden: preconditionFailure("no output term")
        }
        total += objective.distillationWeight * loss
        try addSeed(&seeds, outputName, grad.multiplied(by: objective.distillationWeight))
      }
      if !objective.hiddenStates.isEmpty {
        // layerWeight × mean over the states of each state's per-token loss.
        let scale = objective.layerWeight / Float(objective.hiddenStates.count)
        var layers: Float = 0
        for name in objective.hiddenStates {
          guard let s = pass.value(name) else { throw TrainingError.missingValue(node: "student", name: name) }
          let t = kept[name]!
          guard t.shape == s.shape else {
            throw TrainingError.shapeMismatch(
              node: "teacher hidden state '\(name)'", expected: "the student's \(s.shape)", found: "\(t.shape)")
          }
          let (loss, grad) =
            objective.layerLoss == .cosine
            ? try Loss.cosineDistance(student: s, teacher: t, rowWeights: rowWeights(s))
            : try Loss.meanSquaredError(student: s, teacher: t, rowWeights: rowWeights(s))
          layers += loss
          try addSeed(&seeds, name, grad.multiplied(by: scale))
        }
        report.layerLoss = layers / Float(objective.hiddenStates.count)
        total += scale * layers
      }
      report.distillationLoss = total
      report.loss += total
    }
    if let labels = batch.labels {
      guard y.rank == 2, y.shape[0] == labels.count else {
        throw TrainingError.shapeMismatch(
          node: "output '\(outputName)'", expected: "logits [\(labels.count), classes] for \(labels.count) labels",
          found: "\(y.shape)")
      }
      if let bad = labels.first(where: { $0 < 0 || $0 >= y.shape[1] }) {
        throw TrainingError.invalidArgument(
          what: "labels", message: "label \(bad) does not fit the model's \(y.shape[1]) classes (output '\(outputName)')")
      }
      let (loss, grad, correct) = try Loss.softmaxCrossEntropy(logits: y, labels: labels)
      report.labelLoss = loss
      report.correct = correct
      report.loss += objective.labelWeight * loss
      try addSeed(&seeds, outputName, grad.multiplied(by: objective.labelWeight))
    }
    guard report.distillationLoss != nil || report.labelLoss != nil else {
      throw TrainingError.invalidArgument(what: "fine-tuning", message: "needs labels or a teacher to distil from")
    }
    let grads = try pass.backward(seeds: seeds)
    var result: [[Float]] = []
    for (i, name) in parameters.names.enumerated() {
      var g = grads[name]?.floats ?? [Float](repeating: 0, count: parameters.values[i].count)
      if let mask = parameters.masks[i] { for j in 0..<g.count where mask[j] == 0 { g[j] = 0 } }
      result.append(g)
    }
    return (report, result, pass.stateUpdates)
  }
}

extension FineTuner {
  /// The teacher's values `names` on `batch` (its fused inference executor), each one checked present.
  func teacherValues(_ teacher: Executor, _ batch: FineTuneBatch, _ names: [String]) throws -> [String: Tensor] {
    let outputs: [String: Tensor]
    do {
      outputs = try teacher.run(batch.inputs, keeping: Set(names))
    } catch let error as ModelGraphError {
      throw TrainingError.graph("teacher: \(error.description)")
    }
    for name in names where outputs[name] == nil { throw TrainingError.missingValue(node: "teacher", name: name) }
    return outputs
  }

  /// Adds `gradient` to the seed of `name` (a value may be both the output and a distilled state).
  func addSeed(_ seeds: inout [String: Tensor], _ name: String, _ gradient: Tensor) throws {
    seeds[name] = try seeds[name].map { try add($0, gradient) } ?? gradient
  }
}

/// The state of an interrupted fine-tuning run: weights, AdamW moments, running statistics and
/// the step reached, as one safetensors file (written atomically, so a run killed while saving
/// leaves the previous checkpoint intact).
public struct FineTuneCheckpoint: Sendable {
  public var step: Int
  public var weights: [String: [Float]]
  public var shapes: [String: [Int]]
  public var names: [String]
  public var firstMoments: [[Float]]
  public var secondMoments: [[Float]]
  public var state: [String: Tensor]

  static let kind = "prunekit.finetune-checkpoint"

  public func write(to path: String, metadata extra: [String: String] = [:]) throws {
    var tensors: [String: Tensor] = [:]
    for (i, name) in names.enumerated() {
      let shape = shapes[name] ?? [weights[name]?.count ?? 0]
      tensors["weight/\(name)"] = Tensor(shape: shape, floats: weights[name] ?? [])
      if i < firstMoments.count {
        tensors["adam.m/\(name)"] = Tensor(shape: shape, floats: firstMoments[i])
        tensors["adam.v/\(name)"] = Tensor(shape: shape, floats: secondMoments[i])
      }
    }
    for (name, t) in state { tensors["state/\(name)"] = t }
    var metadata = extra
    metadata["format"] = Self.kind
    metadata["step"] = "\(step)"
    metadata["parameters"] = names.joined(separator: "\n")
    try SafeTensorsWriter.write(tensors, metadata: metadata, to: path)
  }

  public static func read(from path: String) throws -> (FineTuneCheckpoint, metadata: [String: String]) {
    let file: SafeTensorsFile
    do {
      file = try SafeTensorsFile(path: path)
    } catch {
      throw TrainingError.unreadable(path: path, offset: 0, reason: "\(error)")
    }
    guard file.metadata["format"] == kind, let step = file.metadata["step"].flatMap(Int.init), step >= 0 else {
      throw TrainingError.malformed(
        file: path, offset: 0, expected: "a PruneKit fine-tuning checkpoint (metadata format \(kind))",
        found: "metadata \(file.metadata.keys.sorted())")
    }
    let names = (file.metadata["parameters"] ?? "").split(separator: "\n").map(String.init)
    var checkpoint = FineTuneCheckpoint(
      step: step, weights: [:], shapes: [:], names: names, firstMoments: [], secondMoments: [], state: [:])
    func tensor(_ name: String) throws -> Tensor {
      do {
        return try file.tensor(named: name)
      } catch {
        throw TrainingError.malformed(
          file: path, offset: 0, expected: "tensor '\(name)' that its metadata lists", found: error.description)
      }
    }
    for name in names {
      let w = try tensor("weight/\(name)")
      checkpoint.weights[name] = w.floats
      checkpoint.shapes[name] = w.shape
      if file.contains("adam.m/\(name)") {
        checkpoint.firstMoments.append(try tensor("adam.m/\(name)").floats)
        checkpoint.secondMoments.append(try tensor("adam.v/\(name)").floats)
      }
    }
    for name in file.names where name.hasPrefix("state/") {
      checkpoint.state[String(name.dropFirst("state/".count))] = try tensor(name)
    }
    if !checkpoint.firstMoments.isEmpty, checkpoint.firstMoments.count != names.count {
      checkpoint.firstMoments = []
      checkpoint.secondMoments = []
    }
    return (checkpoint, file.metadata)
  }
}
