import TensorCore
import Testing

@testable import ModelGraph

@Suite struct GraphValidationTests {
  func chain() -> Graph {
    Graph(
      nodes: [
        Node(name: "a", opType: "Relu", inputs: ["x"], outputs: ["h1"]),
        Node(name: "b", opType: "Add", inputs: ["h1", "w"], outputs: ["h2"]),
        Node(name: "c", opType: "Relu", inputs: ["h2"], outputs: ["y"]),
      ],
      initializers: ["w": .zeros([1])], inputs: [ValueInfo(name: "x", dtype: .float32, shape: nil)],
      outputs: [ValueInfo(name: "y", dtype: .float32, shape: nil)])
  }

  @Test func sortRestoresOrderOfEveryPermutation() throws {
    let graph = chain()
    try graph.validate()
    for permutation in [[2, 1, 0], [1, 2, 0], [2, 0, 1]] {
      var shuffled = graph
      shuffled.nodes = permutation.map { graph.nodes[$0] }
      #expect(throws: ModelGraphError.self) { try shuffled.validate() }
      try shuffled.sortTopologically()
      #expect(shuffled.nodes.map(\.name) == ["a", "b", "c"])
      try shuffled.validate()
    }
  }

  @Test func sortKeepsAValidOrderUnchanged() throws {
    var graph = chain()
    graph.nodes.insert(Node(name: "d", opType: "Relu", inputs: ["x"], outputs: ["z"]), at: 0)
    try graph.sortTopologically()
    #expect(graph.nodes.map(\.name) == ["d", "a", "b", "c"])
  }

  @Test func defectsNameTheNode() {
    var duplicateName = chain()
    duplicateName.nodes[2].name = "a"
    var duplicateOutput = chain()
    duplicateOutput.nodes[2].outputs = ["h1"]
    var shadowsInitializer = chain()
    shadowsInitializer.nodes[0].outputs = ["w"]
    var unknownInput = chain()
    unknownInput.nodes[1].inputs = ["h1", "v"]
    var inputIsInitializer = chain()
    inputIsInitializer.inputs.append(ValueInfo(name: "w", dtype: .float32, shape: nil))
    let cases: [(Graph, [String])] = [
      (duplicateName, ["'a'"]), (duplicateOutput, ["'c'", "h1"]),
      (shadowsInitializer, ["'a'", "initializer"]),
      (unknownInput, ["'b'", "'v'"]), (inputIsInitializer, ["'w'"]),
    ]
    for (graph, words) in cases {
      do {
        try graph.validate()
        Issue.record("no error for \(words)")
      } catch {
        for word in words { #expect("\(error)".contains(word), "\(error)") }
      }
    }
  }

  @Test func omittedOptionalInputsAreAllowed() throws {
    var graph = chain()
    graph.nodes[1].inputs = ["h1", "", "w"]
    try graph.validate()
  }
}
