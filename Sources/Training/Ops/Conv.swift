import ModelGraph
import TensorCore

/// Conv (ONNX Conv-11, 2-D, any groups/stride/padding/dilation), forward and backward, by im2col +
/// `gemm` per group.
///
/// x [N, C, H, W], w [M, C/G, KH, KW], b [M] → y [N, M, OH, OW].
/// With col = im2colRows(x) [N·P, C·K] (P = OH·OW, K = KH·KW) and group g's columns/rows:
///   yᵀ[:, g] = col[:, g] · W_gᵀ                       ([N·P, M/G])
///   dW_g     = dyᵀ[:, g]ᵀ · col[:, g]                   ([M/G, C/G·K])
///   dcol[:, g] = dyᵀ[:, g] · W_g,  dx = col2imRows(dcol),  db = Σ_{n,p} dy
let convOp = DifferentiableOp { node, inputs, _ in
  let x = try node.input(inputs, 0), w = try node.input(inputs, 1)
  let bias = try node.optionalInput(inputs, 2)
  guard w.rank == 4 else { throw node.shapeError("weight [M, C/G, KH, KW]", w.shape) }
  let geo = try WindowGeometry(node: node, input: x.shape, kernel: (w.shape[2], w.shape[3]))
  let groups = try node.int("group", default: 1)
  let m = w.shape[0]
  guard groups > 0, geo.c % groups == 0, m % groups == 0, w.shape[1] == geo.c / groups,
    w.shape[2] == geo.kh, w.shape[3] == geo.kw
  else {
    throw node.shapeError("weight [M, \(geo.c)/\(groups), \(geo.kh), \(geo.kw)]", w.shape)
  }
  if let bias, bias.shape != [m] { throw node.shapeError("bias [\(m)]", bias.shape) }
  let (n, p) = (geo.n, geo.outputPixels)
  let cg = geo.c / groups, mg = m / groups
  let ck = geo.c * geo.kh * geo.kw, cgk = cg * geo.kh * geo.kw
  let col = im2colRows(x.floats, geo)
  let wv = w.floats
  var yT = [Float](repeating: 0, count: n * p * m)
  for g in 0..<groups {
    matmulInto(
      &yT, cOffset: g * mg, transA: false, transB: true, m: n * p, n: mg, k: cgk, a: col,
      aOffset: g * cgk, lda: ck, b: wv, bOffset: g * mg * cgk, ldb: cgk, ldc: m)
  }
  let y = pixelsToChannels(yT, n: n, p: p, m: m, bias: bias?.floats)
  let out = Tensor(shape: [n, m, geo.oh, geo.ow], floats: y)
  return OpStep(outputs: [out]) { grads in
    guard let dy = grads[0]?.floats else { return [nil, nil, nil] }
    let dyT = channelsToPixels(dy, n: n, p: p, m: m)
    var dw = [Float](repeating: 0, count: wv.count)
    var dcol = [Float](repeating: 0, count: col.count)
    for g in 0..<groups {
      matmulInto(
        &dw, cOffset: g * mg * cgk, transA: true, transB: false, m: mg, n: cgk, k: n * p, a: dyT,
        aOffset: g * mg, lda: m, b: col, bOffset: g * cgk, ldb: ck, ldc: cgk)
      matmulInto(
        &dcol, cOffset: g * cgk, transA: false, transB: false, m: n * p, n: cgk, k: mg, a: dyT,
        aOffset: g * mg, lda: m, b: wv, bOffset: g * mg * cgk, ldb: cgk, ldc: ck)
    }
    let dx = col2imRows(dcol, geo)
    var db: Tensor? = nil
    if bias != nil {
      var sums = [Float](repeating: 0, count: m)
      for img in 0..<n {
        for ch in 0..<m {
          var s: Float = 0
          let o = (img * m + ch) * p
          for q in 0..<p { s += dy[o + q] }
          sums[ch] += s
        }
      }
      db = Tensor(shape: [m], floats: sums)
    }
    return [Tensor(shape: x.shape, floats: dx), Tensor(shape: w.shape, floats: dw), db]
  }
}
