import ModelGraph

/// The cubic sparsity schedule of Zhu & Gupta 2017 ("To prune, or not to prune", eq. 1):
///
///     s_t = s_f + (s_i − s_f) · (1 − (t − t0) / (n·Δt))³   for t ∈ {t0, t0+Δt, …, t0+n·Δt}
///
/// s_i before t0, s_f after t0 + n·Δt. Pruning is fast early (many redundant weights) and slow late.
public struct CubicSparsitySchedule: Sendable, Equatable {
  public var initialSparsity: Double
  public var finalSparsity: Double
  /// First pruning step t0.
  public var startStep: Int
  /// Steps between pruning updates Δt.
  public var frequency: Int
  /// Number of pruning updates n.
  public var updates: Int

  public init(
    initialSparsity: Double = 0, finalSparsity: Double, startStep: Int = 0, frequency: Int, updates: Int
  ) {
    self.initialSparsity = initialSparsity
    self.finalSparsity = finalSparsity
    self.startStep = startStep
    self.frequency = frequency
    self.updates = updates
  }

  public var endStep: Int { startStep + updates * frequency }

  /// Target sparsity at training step t.
  public func sparsity(at step: Int) -> Double {
    if step <= startStep { return initialSparsity }
    if step >= endStep { return finalSparsity }
    let progress = Double(step - startStep) / Double(updates * frequency)
    let remaining = 1 - progress
    return finalSparsity + (initialSparsity - finalSparsity) * remaining * remaining * remaining
  }

  /// Whether the masks are updated at step t (t0, t0+Δt, …, t0+nΔt).
  public func isUpdateStep(_ step: Int) -> Bool {
    step >= startStep && step <= endStep && (step - startStep) % max(frequency, 1) == 0
  }
}

/// Gradual pruning driven from a training hook: call `step` after each optimizer step; at update
/// steps the masks are recomputed by `builder` at the schedule's sparsity and applied.
public struct GradualPruner {
  public var schedule: CubicSparsitySchedule
  public var builder: MaskBuilder
  public var selection: PrunableSelection
  public private(set) var history: [(step: Int, sparsity: Double)] = []

  public init(schedule: CubicSparsitySchedule, builder: MaskBuilder, selection: PrunableSelection = .default)
  {
    self.schedule = schedule
    self.builder = builder
    self.selection = selection
  }

  /// Returns true when the masks changed at this step.
  @discardableResult
  public mutating func step(_ graph: inout Graph, step: Int) throws -> Bool {
    guard schedule.isUpdateStep(step) else { return false }
    let target = schedule.sparsity(at: step)
    try pruneUnstructured(&graph, builder: builder, sparsity: target, selection: selection)
    history.append((step, target))
    return true
  }
}
