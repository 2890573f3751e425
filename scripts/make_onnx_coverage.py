#!/usr/bin/env python3
"""Golden ONNX models for the coverage tests (issue 20): non-Float32 graph boundaries, opset < 7
models, sequence ops, 3-D convolution and pooling. Each case is a small model built with the `onnx`
package's helpers and run by onnxruntime.

Writes Tests/Fixtures/onnx-coverage/: NAME.onnx, NAME.io.safetensors (the inputs under the graph
input names and onnxruntime's outputs under the graph output names, each in its own dtype) and
cases.json (per case: expect "run" or "refuse", the error text a refusal must contain, tolerances).
Tests/RuntimeTests/ONNXCoverageTests.swift checks PruneKit against these files, and
scripts/onnx_conformance.py sweeps them with `prunekit run` and onnxruntime.

    python3 scripts/make_onnx_coverage.py
"""
import json
import os
import sys

import ml_dtypes
import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_io import write_safetensors  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "onnx-coverage")
rng = np.random.default_rng(20261130)
ELEM = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE,
        np.dtype(np.float16): TensorProto.FLOAT16, np.dtype(ml_dtypes.bfloat16): TensorProto.BFLOAT16,
        np.dtype(np.int64): TensorProto.INT64, np.dtype(np.int32): TensorProto.INT32,
        np.dtype(np.int16): TensorProto.INT16, np.dtype(np.int8): TensorProto.INT8,
        np.dtype(np.uint8): TensorProto.UINT8, np.dtype(np.uint16): TensorProto.UINT16,
        np.dtype(np.uint32): TensorProto.UINT32, np.dtype(np.uint64): TensorProto.UINT64,
        np.dtype(np.bool_): TensorProto.BOOL}
cases = []


def f(*shape, low=-2.0, high=2.0, dtype=np.float32):
    return rng.uniform(low, high, size=shape).astype(dtype)


def run_ort(model, inputs, outputs):
    """onnxruntime's outputs. Its Python API has no bfloat16 arrays: such inputs go in as OrtValues of
    their bit patterns, and such outputs are read through an added Cast to float (exact), in a copy."""
    bf16 = [n for n, t in outputs.items() if t == TensorProto.BFLOAT16]
    if bf16:
        model = onnx.ModelProto.FromString(model.SerializeToString())
        for n in bf16:
            model.graph.node.append(helper.make_node("Cast", [n], [n + "__f32"], to=TensorProto.FLOAT))
            for o in model.graph.output:
                if o.name == n:
                    o.name = n + "__f32"
                    o.type.tensor_type.elem_type = TensorProto.FLOAT
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {n: (ort.OrtValue.ortvalue_from_numpy_with_onnx_type(a.view(np.uint16), TensorProto.BFLOAT16)
                 if a.dtype == ml_dtypes.bfloat16 else ort.OrtValue.ortvalue_from_numpy(a)) for n, a in inputs.items()}
    results = [r.numpy() for r in sess.run_with_ort_values(None, feeds)]
    return [r.astype(ml_dtypes.bfloat16) if outputs[n] == TensorProto.BFLOAT16 else r
            for n, r in zip(outputs, results)]


def case(name, nodes, inputs, outputs, opset=17, initializers=(), expect="run", error=None,
         atol=1e-5, rtol=1e-5, ir_version=None, note="", reference=None):
    """reference: (nodes, initializers) of the same model written for opset 7. onnxruntime does not
    run the legacy ops of opsets < 7, and onnx.version_converter (1.23) mis-aligns a legacy
    `broadcast=1, axis=1` B of rank 1 (it unsqueezes [C] to [C, 1, 1, 1] against an NCHW A), so the
    reference is onnxruntime on that opset-7 model; the file written is the opset < 7 one.
    expect="refuse": no reference outputs are stored."""
    """inputs: {name: array}; outputs: {name: elem_type} (shape left to inference)."""
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info(n, ELEM[a.dtype], a.shape) for n, a in inputs.items()],
        [helper.make_tensor_value_info(n, t, None) for n, t in outputs.items()],
        initializer=[numpy_helper.from_array(a, n) for n, a in initializers])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = ir_version or (3 if opset < 7 else 8)
    if model.ir_version < 4:  # before IR 4 every initializer is also a graph input
        graph.input.extend(helper.make_tensor_value_info(n, ELEM[a.dtype], a.shape) for n, a in initializers)
        model.graph.CopyFrom(graph)
    data = model.SerializeToString()
    reference_model = model
    if reference:
        reference_model = helper.make_model(
            helper.make_graph(reference[0], name, graph.input[:len(inputs)], graph.output,
                              initializer=[numpy_helper.from_array(a, n) for n, a in reference[1]]),
            opset_imports=[helper.make_opsetid("", 7)])
        reference_model.ir_version = 8
    results = run_ort(reference_model, inputs, outputs) if expect == "run" else []
    tensors = dict(inputs)
    for n, r in zip(outputs, results):
        tensors[n] = np.asarray(r)
    with open(os.path.join(OUT, name + ".onnx"), "wb") as fh:
        fh.write(data)
    write_safetensors(os.path.join(OUT, name + ".io.safetensors"), tensors, keep_types=True)
    cases.append({"name": name, "opset": opset, "expect": expect, "error": error, "atol": atol, "rtol": rtol,
                  "inputs": list(inputs), "outputs": list(outputs), "note": note})


def boundaries():
    x = np.array([[1.5, -2.25, np.inf], [np.nan, -0.0, 3.0e30]], dtype=np.float64)
    y = np.array([[0.1, 1e-3, 1.0], [2.0, -7.5, -1.0e30]], dtype=np.float64)
    case("f64_add_mul", [helper.make_node("Add", ["x", "y"], ["s"]), helper.make_node("Mul", ["s", "k"], ["out"])],
         {"x": x, "y": y}, {"out": TensorProto.DOUBLE}, initializers=[("k", np.array([0.5], np.float64))],
         rtol=1e-6, note="float64 in and out with inf/NaN/-0 (computed in Float32)")
    case("f16_mul_sigmoid", [helper.make_node("Mul", ["x", "y"], ["m"]), helper.make_node("Sigmoid", ["m"], ["out"])],
         {"x": f(3, 4, dtype=np.float16), "y": f(3, 4, dtype=np.float16)}, {"out": TensorProto.FLOAT16},
         atol=2e-3, rtol=2e-3, note="float16 in and out")
    bx = f(2, 5).astype(ml_dtypes.bfloat16)
    case("bf16_cast_relu", [helper.make_node("Cast", ["x"], ["xf"], to=TensorProto.FLOAT),
                            helper.make_node("Relu", ["xf"], ["r"]),
                            helper.make_node("Cast", ["r"], ["out"], to=TensorProto.BFLOAT16)],
         {"x": bx}, {"out": TensorProto.BFLOAT16}, atol=0, rtol=0, note="bfloat16 in and out")
    a = np.array([[2**30, -5, 7], [2**31 - 1, 100, -2**31]], dtype=np.int32)
    b = np.array([[4, 3, -2], [1, -7, 1]], dtype=np.int32)
    case("int32_arith", [helper.make_node("Mul", ["a", "b"], ["prod"]), helper.make_node("Add", ["a", "b"], ["sum"]),
                         helper.make_node("Div", ["a", "b"], ["quot"])],
         {"a": a, "b": b}, {"prod": TensorProto.INT32, "sum": TensorProto.INT32, "quot": TensorProto.INT32},
         atol=0, rtol=0, note="int32 in and out, wrapping overflow")
    case("int8_uint8_cast", [helper.make_node("Cast", ["x"], ["xf"], to=TensorProto.FLOAT),
                             helper.make_node("Abs", ["xf"], ["ax"]),
                             helper.make_node("Cast", ["ax"], ["u8"], to=TensorProto.UINT8),
                             helper.make_node("Cast", ["xf"], ["i16"], to=TensorProto.INT16),
                             helper.make_node("Cast", ["ax"], ["u16"], to=TensorProto.UINT16),
                             helper.make_node("Cast", ["ax"], ["u32"], to=TensorProto.UINT32)],
         {"x": np.array([-128, -1, 0, 5, 127], dtype=np.int8)},
         {"u8": TensorProto.UINT8, "i16": TensorProto.INT16, "u16": TensorProto.UINT16, "u32": TensorProto.UINT32},
         atol=0, rtol=0, note="int8 in; uint8/int16/uint16/uint32 out")
    case("uint64_identity_cast", [helper.make_node("Identity", ["x"], ["same"]),
                                  helper.make_node("Cast", ["x"], ["asf"], to=TensorProto.FLOAT)],
         {"x": np.array([0, 1, 2**40, 2**63 - 1], dtype=np.uint64)},
         {"same": TensorProto.UINT64, "asf": TensorProto.FLOAT}, atol=0, rtol=1e-7, note="uint64 in and out")
    case("bool_logic", [helper.make_node("And", ["p", "q"], ["both"]), helper.make_node("Not", ["p"], ["notp"]),
                        helper.make_node("Xor", ["p", "q"], ["either"])],
         {"p": np.array([True, True, False, False]), "q": np.array([True, False, True, False])},
         {"both": TensorProto.BOOL, "notp": TensorProto.BOOL, "either": TensorProto.BOOL}, atol=0, rtol=0,
         note="bool in and out")
    case("int32_gather_f64", [helper.make_node("Gather", ["table", "idx"], ["g"], axis=0),
                              helper.make_node("Cast", ["g"], ["out"], to=TensorProto.DOUBLE)],
         {"idx": np.array([[2, 0], [1, 2]], dtype=np.int32)}, {"out": TensorProto.DOUBLE},
         initializers=[("table", f(3, 4))], rtol=1e-7, note="int32 indices, float64 output of a cast")


def old_opsets():
    w = f(4, 3, 3, 3, low=-0.5, high=0.5)
    inits = [("w", w), ("b", f(4)), ("scale", f(4, low=0.5, high=1.5)), ("bias", f(4)), ("mean", f(4, low=-0.2, high=0.2)),
             ("var", f(4, low=0.5, high=2.0)), ("shape", np.array([1, -1], np.int64)), ("w2", f(36, 5, low=-0.3, high=0.3)),
             ("c", f(5)), ("k", np.array([1.5], np.float32))]
    nodes = [helper.make_node("Conv", ["x", "w"], ["conv"], pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["conv", "b"], ["biased"], broadcast=1, axis=1),
             helper.make_node("BatchNormalization", ["biased", "scale", "bias", "mean", "var"], ["bn"], is_test=1,
                              epsilon=1e-5),
             helper.make_node("Relu", ["bn"], ["relu"]),
             helper.make_node("MaxPool", ["relu"], ["pool"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Reshape", ["pool", "shape"], ["flat"]),
             helper.make_node("Dropout", ["flat"], ["drop"], is_test=1, ratio=0.5),
             helper.make_node("Gemm", ["drop", "w2", "c"], ["gemm"], broadcast=1),
             helper.make_node("Mul", ["gemm", "k"], ["scaled"], broadcast=1),
             helper.make_node("Softmax", ["scaled"], ["out"])]
    modern = [helper.make_node("Conv", ["x", "w"], ["conv"], pads=[1, 1, 1, 1]),
              helper.make_node("Add", ["conv", "b3"], ["biased"]),
              helper.make_node("BatchNormalization", ["biased", "scale", "bias", "mean", "var"], ["bn"], epsilon=1e-5),
              *nodes[3:6], helper.make_node("Dropout", ["flat"], ["drop"], ratio=0.5),
              helper.make_node("Gemm", ["drop", "w2", "c"], ["gemm"]), helper.make_node("Mul", ["gemm", "k"], ["scaled"]),
              nodes[-1]]
    b3 = ("b3", dict(inits)["b"].reshape(4, 1, 1))
    case("opset6_cnn", nodes, {"x": f(1, 3, 6, 6)}, {"out": TensorProto.FLOAT}, opset=6, initializers=inits,
         reference=(modern, inits + [b3]), note="opset 6: legacy broadcast/axis, is_test, Gemm broadcast")
    nodes = [helper.make_node("Relu", ["x"], ["r"], consumed_inputs=[0]),
             helper.make_node("Sub", ["r", "m"], ["centered"], broadcast=1),
             helper.make_node("Mul", ["centered", "s"], ["scaled"], broadcast=1, axis=1),
             helper.make_node("Reshape", ["scaled"], ["flat"], shape=[2, 12]),
             helper.make_node("Concat", ["flat", "flat"], ["out"])]
    m, sc = f(4), f(3)
    modern = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Sub", ["r", "m"], ["centered"]),
              helper.make_node("Mul", ["centered", "s2"], ["scaled"]),
              helper.make_node("Reshape", ["scaled", "shape"], ["flat"]),
              helper.make_node("Concat", ["flat", "flat"], ["out"], axis=1)]
    case("opset1_legacy", nodes, {"x": f(2, 3, 4)}, {"out": TensorProto.FLOAT}, opset=1,
         initializers=[("m", m), ("s", sc)],
         reference=(modern, [("m", m), ("s2", sc.reshape(3, 1)), ("shape", np.array([2, 12], np.int64))]),
         note="opset 1: consumed_inputs, broadcast without/with axis, Reshape shape attribute, Concat default axis")
    nodes = [helper.make_node("Tile", ["x", "tiles", "axis"], ["out"])]
    case("opset5_tile_refused", nodes, {"x": f(2, 3)}, {"out": TensorProto.FLOAT}, opset=5,
         initializers=[("tiles", np.array([2], np.int64)), ("axis", np.array([0], np.int64))], expect="refuse",
         error="node 'Tile_0' (Tile, opset 5) cannot be upgraded to opset 7", note="Tile-1 has no mapping")


def sequences():
    x = f(4, 6)
    nodes = [helper.make_node("SplitToSequence", ["x", "sizes"], ["parts"], axis=1),
             helper.make_node("SequenceLength", ["parts"], ["count"]),
             helper.make_node("SequenceAt", ["parts", "last"], ["tail"]),
             helper.make_node("SequenceInsert", ["parts", "y", "first"], ["more"]),
             helper.make_node("SequenceErase", ["more", "second"], ["fewer"]),
             helper.make_node("ConcatFromSequence", ["fewer"], ["joined"], axis=1),
             helper.make_node("SplitToSequence", ["x"], ["rows"], axis=0, keepdims=0),
             helper.make_node("ConcatFromSequence", ["rows"], ["stacked"], axis=1, new_axis=1)]
    case("sequence_split_concat", nodes, {"x": x, "y": f(4, 2)},
         {"count": TensorProto.INT64, "tail": TensorProto.FLOAT, "joined": TensorProto.FLOAT,
          "stacked": TensorProto.FLOAT},
         initializers=[("sizes", np.array([1, 2, 3], np.int64)), ("last", np.array(-1, np.int64)),
                       ("first", np.array(0, np.int64)), ("second", np.array(1, np.int64))],
         atol=0, rtol=0, note="SplitToSequence (sizes, keepdims=0), SequenceLength/At/Insert/Erase, ConcatFromSequence")
    nodes = [helper.make_node("SequenceEmpty", [], ["empty"], dtype=TensorProto.FLOAT),
             helper.make_node("SequenceInsert", ["empty", "a"], ["one"]),
             helper.make_node("SequenceInsert", ["one", "b", "zero"], ["two"]),
             helper.make_node("SequenceConstruct", ["a", "b", "a"], ["three"]),
             helper.make_node("ConcatFromSequence", ["two"], ["ab"], axis=0),
             helper.make_node("SequenceAt", ["three", "one_i"], ["middle"]),
             helper.make_node("SplitToSequence", ["a", "chunk"], ["chunks"], axis=-1),
             helper.make_node("ConcatFromSequence", ["chunks"], ["rejoined"], axis=-1)]
    case("sequence_construct_empty", nodes, {"a": f(2, 5), "b": f(3, 5)},
         {"ab": TensorProto.FLOAT, "middle": TensorProto.FLOAT, "rejoined": TensorProto.FLOAT},
         initializers=[("zero", np.array(0, np.int32)), ("one_i", np.array(1, np.int64)),
                       ("chunk", np.array(2, np.int64))], atol=0, rtol=0,
         note="SequenceEmpty, SequenceConstruct, int32 position, scalar split (last chunk smaller)")
    case("shrink", [helper.make_node("Shrink", ["x"], ["out"], lambd=0.75, bias=0.25)], {"x": f(3, 7)},
         {"out": TensorProto.FLOAT}, note="Shrink")


def three_d():
    x = f(2, 4, 5, 6, 7)
    case("conv3d_pads_strides_dilations_groups",
         [helper.make_node("Conv", ["x", "w", "b"], ["out"], pads=[1, 0, 2, 2, 1, 0], strides=[2, 1, 2],
                           dilations=[1, 2, 1], group=2)],
         {"x": x}, {"out": TensorProto.FLOAT}, initializers=[("w", f(6, 2, 3, 2, 3)), ("b", f(6))], atol=1e-4,
         note="Conv 3-D: asymmetric pads, strides, dilations, groups, bias")
    case("conv3d_same_upper", [helper.make_node("Conv", ["x", "w"], ["out"], auto_pad="SAME_UPPER", strides=[2, 2, 2])],
         {"x": f(1, 3, 5, 5, 4)}, {"out": TensorProto.FLOAT}, initializers=[("w", f(4, 3, 3, 3, 3))], atol=1e-4,
         note="Conv 3-D: auto_pad SAME_UPPER")
    case("maxpool3d", [helper.make_node("MaxPool", ["x"], ["out"], kernel_shape=[2, 3, 2], pads=[1, 1, 0, 0, 1, 1],
                                        strides=[2, 2, 1], dilations=[1, 1, 2], ceil_mode=1)],
         {"x": x}, {"out": TensorProto.FLOAT}, atol=0, rtol=0, note="MaxPool 3-D: pads, strides, dilations, ceil_mode")
    for include in (0, 1):
        case(f"avgpool3d_include_pad_{include}",
             [helper.make_node("AveragePool", ["x"], ["out"], kernel_shape=[3, 2, 3], pads=[1, 0, 1, 1, 1, 1],
                               strides=[2, 2, 2], count_include_pad=include)],
             {"x": x}, {"out": TensorProto.FLOAT}, note=f"AveragePool 3-D, count_include_pad={include}")
    case("convtranspose3d", [helper.make_node("ConvTranspose", ["x", "w", "b"], ["out"], strides=[2, 1, 2],
                                              pads=[1, 0, 0, 0, 1, 1], output_padding=[1, 0, 1], group=2,
                                              dilations=[1, 2, 1])],
         {"x": f(1, 4, 3, 4, 3)}, {"out": TensorProto.FLOAT}, initializers=[("w", f(4, 3, 2, 3, 2)), ("b", f(6))],
         atol=1e-4, note="ConvTranspose 3-D: strides, pads, output_padding, dilations, groups")
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2, 2], strides=[2, 2, 2]),
             helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1, 1, 1]),
             helper.make_node("Relu", ["c2"], ["r2"]),
             helper.make_node("GlobalAveragePool", ["r2"], ["g"]),
             helper.make_node("Flatten", ["g"], ["flat"]),
             helper.make_node("Gemm", ["flat", "wf", "bf"], ["out"], transB=1)]
    case("cnn3d", nodes, {"x": f(2, 2, 6, 6, 6)}, {"out": TensorProto.FLOAT},
         initializers=[("w1", f(8, 2, 3, 3, 3, low=-0.4, high=0.4)), ("b1", f(8)), ("w2", f(6, 8, 3, 3, 3, low=-0.3, high=0.3)),
                       ("b2", f(6)), ("wf", f(3, 6)), ("bf", f(3))], atol=1e-4,
         note="a small 3-D CNN (the structured-pruning fixture)")


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        os.remove(os.path.join(OUT, name))
    for group in (boundaries, old_opsets, sequences, three_d):
        group()
    with open(os.path.join(OUT, "cases.json"), "w") as fh:
        json.dump({"generator": "scripts/make_onnx_coverage.py", "onnxruntime": ort.__version__,
                   "onnx": onnx.__version__, "cases": cases}, fh, indent=1)
        fh.write("\n")
    print(f"wrote {len(cases)} cases to {os.path.relpath(OUT)}")


if __name__ == "__main__":
    main()
