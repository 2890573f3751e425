import ModelGraph
import TensorCore

/// A run of channels along a value's tracked axis: all units of `space`, each `width` elements wide
/// (width 0 = not yet known: after a Flatten, fixed by the consuming layer's input width).
struct Segment: Equatable {
  var space: Int
  var width: Int
}

/// Where a value's prunable channels are: axis counted from the end (−1 = last, −3 = NCHW channel),
/// the value's rank when known, and the channel runs in order (several after a Concat).
struct ChannelLayout: Equatable {
  var axis: Int
  var rank: Int?
  var segments: [Segment]

  /// Axis index from the front, when the rank is known.
  var axisIndex: Int? { rank.map { $0 + axis } }
}

/// Union-find over channel spaces: each space is the output dimension of one layer; coupled spaces
/// are merged and end as one `PruningGroup`.
struct ChannelSpaces {
  private(set) var parent: [Int] = []
  private(set) var size: [Int] = []
  var members: [[GroupMember]] = []
  var blocked: [String?] = []
  var balanced: [Int] = []
  var depthwise: [[String]] = []

  mutating func make(size n: Int) -> Int {
    parent.append(parent.count)
    size.append(n)
    members.append([])
    blocked.append(nil)
    balanced.append(1)
    depthwise.append([])
    return parent.count - 1
  }

  mutating func find(_ s: Int) -> Int {
    var root = s
    while parent[root] != root { root = parent[root] }
    var node = s
    while parent[node] != root { (node, parent[node]) = (parent[node], root) }
    return root
  }

  func sizeOf(_ s: Int) -> Int { size[s] }

  /// Merges two spaces of equal size; unequal sizes block both (a broken assumption, never a cut).
  mutating func union(_ a: Int, _ b: Int, at node: String) {
    let (ra, rb) = (find(a), find(b))
    guard ra != rb else { return }
    guard size[ra] == size[rb] else {
      block(ra, "node '\(node)' joins \(size[ra]) with \(size[rb]) channels")
      block(rb, "node '\(node)' joins \(size[ra]) with \(size[rb]) channels")
      return
    }
    let (keep, gone) = ra < rb ? (ra, rb) : (rb, ra)
    parent[gone] = keep
    members[keep] += members[gone]
    if blocked[keep] == nil { blocked[keep] = blocked[gone] }
    balanced[keep] = lcm(balanced[keep], balanced[gone])
    depthwise[keep] += depthwise[gone]
  }

  mutating func add(_ member: GroupMember, to s: Int) { members[find(s)].append(member) }

  mutating func block(_ s: Int, _ reason: String) {
    let r = find(s)
    if blocked[r] == nil { blocked[r] = reason }
  }

  mutating func balance(_ s: Int, blocks: Int) {
    let r = find(s)
    balanced[r] = lcm(balanced[r], blocks)
  }

  mutating func addDepthwise(_ s: Int, node: String) { depthwise[find(s)].append(node) }

  /// One group per root space, in creation order.
  mutating func groups() -> [PruningGroup] {
    var result: [PruningGroup] = []
    for s in 0..<parent.count where find(s) == s {
      var group = PruningGroup(id: result.count, size: size[s])
      group.members = members[s]
      group.blockedBy = blocked[s]
      if group.blockedBy == nil, balanced[s] > 1, size[s] % balanced[s] != 0 {
        group.blockedBy = "\(size[s]) channels do not split into \(balanced[s]) equal conv groups"
      }
      group.balancedBlocks = balanced[s]
      group.depthwiseNodes = depthwise[s]
      result.append(group)
    }
    return result
  }
}

func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
func lcm(_ a: Int, _ b: Int) -> Int { a / gcd(a, b) * b }

/// A constant value: an initializer or the `value` of a Constant node.
func constantTensor(_ name: String, in graph: Graph) -> Tensor? {
  if let t = graph.initializers[name] { return t }
  guard let node = graph.producer(of: name), node.opType == "Constant",
    case .tensor(let t)? = node.attributes["value"]
  else { return nil }
  return t
}

/// Replaces a constant (initializer or Constant node value) in place.
func setConstant(_ name: String, _ tensor: Tensor, in graph: inout Graph) {
  if graph.initializers[name] != nil {
    graph.initializers[name] = tensor
    return
  }
  if let index = graph.nodes.firstIndex(where: { $0.opType == "Constant" && $0.outputs.contains(name) }) {
    graph.nodes[index].attributes["value"] = .tensor(tensor)
  }
}

extension Node {
  func int(_ key: String, default value: Int) -> Int {
    if case .int(let v)? = attributes[key] { return v }
    return value
  }

  func ints(_ key: String) -> [Int]? {
    if case .ints(let v)? = attributes[key] { return v }
    return nil
  }
}
