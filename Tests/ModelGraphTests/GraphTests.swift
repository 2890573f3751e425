import TensorCore
import Testing

@testable import ModelGraph

@Suite struct GraphTests {
  @Test func initializerOrderFollowsDeclarationAndRemoval() {
    var graph = Graph()
    graph.setInitializer("w2", .zeros([2]))
    graph.setInitializer("w1", .zeros([1]))
    graph.setInitializer("w2", .zeros([3]))
    #expect(graph.initializerOrder == ["w2", "w1"])
    #expect(graph.initializers["w2"]?.shape == [3])
    graph.masks["w2"] = .filled([3], with: 1)
    graph.removeInitializer("w2")
    #expect(graph.orderedInitializers.map(\.name) == ["w1"])
    #expect(graph.masks["w2"] == nil)
  }

  @Test func producerAndConsumersFollowValueNames() {
    let graph = Graph(nodes: [
      Node(name: "a", opType: "Relu", inputs: ["x"], outputs: ["y"]),
      Node(name: "b", opType: "Relu", inputs: ["y"], outputs: ["z"]),
      Node(name: "c", opType: "Add", inputs: ["y", "z"], outputs: ["w"]),
    ])
    #expect(graph.producer(of: "z")?.name == "b")
    #expect(graph.consumers(of: "y").map(\.name) == ["b", "c"])
    #expect(graph.producer(of: "x") == nil)
  }
}
