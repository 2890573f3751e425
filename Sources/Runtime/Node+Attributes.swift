import ModelGraph

extension Node {
  /// An int attribute, or `fallback` when absent or of another type (graph rewrites and kernel choice
  /// read attributes to decide whether a pattern applies; the op kernels read them through OpContext,
  /// which reports a wrong type as an error).
  func intAttribute(_ name: String, _ fallback: Int) -> Int {
    if case .int(let v)? = attributes[name] { return v }
    return fallback
  }

  /// A float attribute (an int one converted), or `fallback`.
  func floatAttribute(_ name: String, _ fallback: Float) -> Float {
    switch attributes[name] {
    case .float(let v)?: return v
    case .int(let v)?: return Float(v)
    default: return fallback
    }
  }
}
