import Foundation
import PruneKit
import Testing

/// `prunekit finetune` on a small MobileNet-style CNN (stem Conv + BatchNorm + HardSwish, depthwise
/// Conv, squeeze-excite with HardSigmoid and Mul, residual Add, Gemm head for 5 classes, input
/// 3×12×12) and 10×10 grey IDX images of 10 classes written by the test: the images are resized and
/// replicated to the model's input, the 5-class head is refused until --new-head 10 replaces it, and
/// the loss falls.
@Suite(.serialized) struct FinetuneCNNCLITests {
  typealias Workspace = ProductCLITests.Workspace
  let cli = ProductCLITests()

  static func tinyMobileNet() -> Graph {
    func w(_ shape: [Int], _ seed: UInt64, _ scale: Float = 0.3) -> Tensor { Tensor.normal(shape, std: scale, seed: seed) }
    let pad: [String: Attribute] = ["pads": .ints([1, 1, 1, 1])]
    return Graph(
      name: "tiny-mobilenet",
      nodes: [
        Node(name: "stem", opType: "Conv", inputs: ["input", "w0"], outputs: ["c0"], attributes: pad.merging(["strides": .ints([2, 2])]) { a, _ in a }),
        Node(name: "bn", opType: "BatchNormalization", inputs: ["c0", "g", "beta", "mean", "var"], outputs: ["b0"]),
        Node(name: "hswish", opType: "HardSwish", inputs: ["b0"], outputs: ["a0"]),
        Node(name: "dw", opType: "Conv", inputs: ["a0", "wd"], outputs: ["d"], attributes: pad.merging(["group": .int(8)]) { a, _ in a }),
        Node(name: "relu", opType: "Relu", inputs: ["d"], outputs: ["r"]),
        Node(name: "se_pool", opType: "GlobalAveragePool", inputs: ["r"], outputs: ["p"]),
        Node(name: "se_fc1", opType: "Conv", inputs: ["p", "ws1", "bs1"], outputs: ["s1"]),
        Node(name: "se_relu", opType: "Relu", inputs: ["s1"], outputs: ["s2"]),
        Node(name: "se_fc2", opType: "Conv", inputs: ["s2", "ws2", "bs2"], outputs: ["s3"]),
        Node(name: "se_gate", opType: "HardSigmoid", inputs: ["s3"], outputs: ["s"], attributes: ["alpha": .float(1.0 / 6)]),
        Node(name: "se_mul", opType: "Mul", inputs: ["r", "s"], outputs: ["e"]),
        Node(name: "project", opType: "Conv", inputs: ["e", "wp"], outputs: ["q"]),
        Node(name: "residual", opType: "Add", inputs: ["q", "a0"], outputs: ["o"]),
        Node(name: "pool", opType: "GlobalAveragePool", inputs: ["o"], outputs: ["gp"]),
        Node(name: "flatten", opType: "Flatten", inputs: ["gp"], outputs: ["f"]),
        Node(name: "head", opType: "Gemm", inputs: ["f", "wf", "bf"], outputs: ["logits"], attributes: ["transB": .int(1)]),
      ],
      initializers: [
        "w0": w([8, 3, 3, 3], 1), "g": Tensor(shape: [8], floats: [Float](repeating: 1, count: 8)),
        "beta": Tensor.zeros([8]), "mean": Tensor.zeros([8]), "var": Tensor(shape: [8], floats: [Float](repeating: 1, count: 8)),
        "wd": w([8, 1, 3, 3], 2), "ws1": w([4, 8, 1, 1], 3), "bs1": Tensor.zeros([4]), "ws2": w([8, 4, 1, 1], 4),
        "bs2": Tensor.zeros([8]), "wp": w([8, 8, 1, 1], 5), "wf": w([5, 8], 6), "bf": Tensor.zeros([5]),
      ],
      inputs: [ValueInfo(name: "input", dtype: .float32, shape: [.symbolic("batch"), .fixed(3), .fixed(12), .fixed(12)])],
      outputs: [ValueInfo(name: "logits", dtype: .float32, shape: [.symbolic("batch"), .fixed(5)])])
  }

  /// IDX files of `count` 10×10 grey images per split: class k = 25·k brightness plus seeded noise.
  static func writeImages(to folder: String, count: Int) throws {
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    func header(_ magic: UInt8, _ dims: [Int]) -> [UInt8] {
      [0, 0, 8, magic] + dims.flatMap { d in (0..<4).reversed().map { UInt8(truncatingIfNeeded: d >> (8 * $0)) } }
    }
    var rng = SeededGenerator(seed: 11)
    for (split, n) in [("train", count), ("t10k", count / 4)] {
      let labels = (0..<n).map { UInt8($0 % 10) }
      let pixels = labels.flatMap { k in (0..<100).map { _ in UInt8(min(255, Int(k) * 25 + rng.nextIndex(below: 30))) } }
      try Data(header(3, [n, 10, 10]) + pixels).write(to: URL(fileURLWithPath: "\(folder)/\(split)-images-idx3-ubyte"))
      try Data(header(1, [n]) + labels).write(to: URL(fileURLWithPath: "\(folder)/\(split)-labels-idx1-ubyte"))
    }
  }

  @Test func resizedGreyImagesNewHeadAndFallingLoss() throws {
    let w = try Workspace()
    try ONNXExporter.save(Self.tinyMobileNet(), to: w.path + "/tiny.onnx")
    try Self.writeImages(to: w.path + "/idx", count: 64)
    // 10 data classes, 5 model classes: refused before training, pointing at --new-head.
    try cli.refused(
      ["finetune", "tiny.onnx", "--data", "idx", "--steps", "2", "-q", "-o", "x.onnx"], in: w, status: 1,
      ["logits", "10 classes", "--new-head 10", "5 classes"], noOutput: "x.onnx")
    let r = try cli.ok(
      ["finetune", "tiny.onnx", "--data", "idx", "--new-head", "10", "--steps", "24", "--batch", "16", "--lr", "0.01",
       "--schedule", "constant", "--mean", "0.5", "--std", "0.25", "--seed", "2", "--json", "-o", "t.onnx"], in: w)
    let result = try cli.json(r, schema: "finetune")
    #expect(result["image_shape"] as? [Int] == [3, 12, 12])
    let head = try #require(result["new_head"] as? [String: Any])
    #expect(head["node"] as? String == "head" && head["old_classes"] as? Int == 5 && head["new_classes"] as? Int == 10)
    let losses = try #require(result["losses"] as? [Double])
    #expect(losses.count == 24)
    let (first, last) = (losses.prefix(4).reduce(0, +) / 4, losses.suffix(4).reduce(0, +) / 4)
    #expect(last < 0.8 * first, "loss did not fall: \(losses)")
    #expect((result["test_accuracy_after"] as? Double ?? 0) > (result["test_accuracy_before"] as? Double ?? 1))
    let tuned = try ModelFile.loadAny(w.path + "/t.onnx")
    #expect(tuned.initializers["wf"]?.shape == [10, 8])
    #expect(tuned.outputs[0].shape == [.symbolic("batch"), .fixed(10)])
  }

  @Test func imageOptionsThatCannotApplyAreRefused() throws {
    let w = try Workspace()
    try ONNXExporter.save(Self.tinyMobileNet(), to: w.path + "/tiny.onnx")
    try Self.writeImages(to: w.path + "/idx", count: 16)
    let base = ["finetune", "tiny.onnx", "--data", "idx", "--new-head", "10", "--steps", "1", "-q"]
    try cli.refused(base + ["--image-size", "16", "-o", "x.onnx"], in: w, ["--image-size 16", "12×12"], noOutput: "x.onnx")
    try cli.refused(base + ["--image-size", "0x4", "-o", "x.onnx"], in: w, ["--image-size 0x4"])
    try cli.refused(base + ["--mean", "0.1,0.2", "-o", "x.onnx"], in: w, status: 1, ["mean", "1 or 3 values"], noOutput: "x.onnx")
    try cli.refused(base + ["--std", "0.2,-1,1", "-o", "x.onnx"], in: w, ["--std", "not > 0"])
    try cli.refused(base + ["--mean", "a", "-o", "x.onnx"], in: w, ["--mean a"])
    try cli.refused(["finetune", "tiny.onnx", "--data", "idx", "--new-head", "0", "-o", "x.onnx"], in: w, ["--new-head"])
  }
}
