#!/usr/bin/env python3
"""Golden per-op cases for the executor tests: each case is one ONNX node run by onnxruntime.

Writes Tests/Data/executor_op_cases.json: for every case the op, opset, attributes, inputs (name,
dtype, shape, data; null for an omitted optional input) and onnxruntime's outputs. The Swift test
(Tests/RuntimeTests/ExecutorOpTests.swift) builds a one-node Graph from each case, so the cases
do not depend on the ONNX importer.

    pip install onnx onnxruntime numpy && python3 scripts/make_executor_op_cases.py
"""
import json
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

rng = np.random.default_rng(20261129)
DTYPES = {np.dtype(np.float32): ("float32", TensorProto.FLOAT), np.dtype(np.int64): ("int64", TensorProto.INT64),
          np.dtype(np.bool_): ("bool", TensorProto.BOOL)}
cases = []


def f(*shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=shape).astype(np.float32)


def i64(values):
    return np.array(values, dtype=np.int64)


def case(name, op, opset, inputs, n_out=1, **attrs):
    """inputs: list of numpy arrays or None (omitted optional input)."""
    in_names = [("" if a is None else f"in{k}") for k, a in enumerate(inputs)]
    out_names = [f"out{k}" for k in range(n_out)]
    node = helper.make_node(op, in_names, out_names, **attrs)
    graph_inputs = [helper.make_tensor_value_info(n, DTYPES[a.dtype][1], a.shape)
                    for n, a in zip(in_names, inputs) if a is not None]
    graph_outputs = [onnx.ValueInfoProto(name=n) for n in out_names]
    model = helper.make_model(helper.make_graph([node], name, graph_inputs, graph_outputs),
                              opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {n: a for n, a in zip(in_names, inputs) if a is not None}
    results = sess.run(None, feeds)

    def encode(n, a):
        a = np.asarray(a)
        return {"name": n, "dtype": DTYPES[a.dtype][0], "shape": list(a.shape),
                "data": a.reshape(-1).tolist()}

    attributes = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        if a.type == onnx.AttributeProto.TENSOR:
            attributes[a.name] = {"type": "tensor", "value": encode("", onnx.numpy_helper.to_array(v))}
        elif a.type == onnx.AttributeProto.STRING:
            attributes[a.name] = {"type": "string", "value": v.decode()}
        else:
            kind = {onnx.AttributeProto.INT: "int", onnx.AttributeProto.FLOAT: "float",
                    onnx.AttributeProto.INTS: "ints", onnx.AttributeProto.FLOATS: "floats"}[a.type]
            attributes[a.name] = {"type": kind, "value": list(v) if kind.endswith("s") else v}
    cases.append({"name": name, "op": op, "opset": opset, "attributes": attributes,
                  "inputs": [None if a is None else encode(n, a) for n, a in zip(in_names, inputs)],
                  "outputs": [encode(n, r) for n, r in zip(out_names, results)]})


# Linear algebra
case("gemm_transB_bias", "Gemm", 17, [f(3, 4), f(5, 4), f(5)], transB=1)
case("gemm_transA_alpha_beta", "Gemm", 17, [f(4, 3), f(4, 5), f(3, 5)], transA=1, alpha=0.5, beta=2.0)
case("gemm_no_c", "Gemm", 17, [f(2, 3), f(3, 2)])
case("matmul_batched_broadcast", "MatMul", 17, [f(2, 1, 3, 4), f(3, 4, 5)])
case("matmul_weights", "MatMul", 17, [f(2, 3, 4), f(4, 6)])
case("matmul_vector_left", "MatMul", 17, [f(4), f(2, 4, 3)])
case("matmul_vector_right", "MatMul", 17, [f(2, 3, 4), f(4)])
# Convolutions
case("conv_pads_stride", "Conv", 17, [f(2, 3, 7, 6), f(4, 3, 3, 3), f(4)], pads=[1, 0, 2, 1], strides=[2, 1])
case("conv_dilation_group", "Conv", 17, [f(1, 4, 8, 8), f(6, 2, 3, 3), f(6)], dilations=[2, 2], group=2)
case("conv_depthwise", "Conv", 17, [f(1, 3, 5, 5), f(3, 1, 3, 3)], group=3, pads=[1, 1, 1, 1])
case("conv_same_upper", "Conv", 17, [f(1, 2, 5, 6), f(3, 2, 2, 3)], auto_pad="SAME_UPPER", strides=[2, 2])
case("conv_1d", "Conv", 17, [f(2, 3, 9), f(4, 3, 3), f(4)], pads=[1, 1], strides=[2])
case("convtranspose_stride", "ConvTranspose", 17, [f(1, 3, 4, 4), f(3, 2, 3, 3), f(2)], strides=[2, 2],
     pads=[1, 1, 1, 1], output_padding=[1, 1])
case("convtranspose_group", "ConvTranspose", 17, [f(2, 4, 3, 3), f(4, 1, 2, 2)], group=2, strides=[1, 2])
# Normalisation
case("batchnorm", "BatchNormalization", 15, [f(2, 3, 4, 4), f(3), f(3), f(3), f(3, low=0.1, high=2)], epsilon=1e-3)
case("layernorm_last", "LayerNormalization", 17, [f(2, 3, 8), f(8), f(8)], epsilon=1e-5)
case("layernorm_axis1", "LayerNormalization", 17, [f(2, 3, 4), f(3, 4), f(3, 4)], axis=1)
# Activations
for op in ["Relu", "Erf", "Tanh", "Sigmoid", "HardSwish", "Sqrt", "Exp", "Log", "Abs", "Neg", "Reciprocal"]:
    x = f(3, 5, low=0.1, high=3) if op in ["Sqrt", "Log", "Reciprocal"] else f(3, 5, low=-4, high=4)
    case(op.lower(), op, 17, [x])
case("neg_int64", "Neg", 17, [i64([[1, -2], [3, 0]])])
case("leakyrelu", "LeakyRelu", 17, [f(4, 4)], alpha=0.2)
case("hardsigmoid", "HardSigmoid", 17, [f(4, 4, low=-6, high=6)], alpha=0.25, beta=0.4)
case("gelu_exact_opset20", "Gelu", 20, [f(3, 7, low=-4, high=4)])
case("gelu_tanh_opset20", "Gelu", 20, [f(3, 7, low=-4, high=4)], approximate="tanh")
case("clip_inputs_opset13", "Clip", 13, [f(4, 4), np.array(-0.5, np.float32), np.array(0.7, np.float32)])
case("clip_max_only_opset13", "Clip", 13, [f(4, 4), None, np.array(0.3, np.float32)])
case("clip_attributes_opset10", "Clip", 10, [f(4, 4)], min=-0.2, max=0.4)
case("softmax_axis1_opset13", "Softmax", 13, [f(2, 3, 4)], axis=1)
case("softmax_coerced_opset11", "Softmax", 11, [f(2, 3, 4)], axis=1)
case("logsoftmax_opset13", "LogSoftmax", 13, [f(2, 5)])
# Pooling
case("maxpool_pads_ceil", "MaxPool", 17, [f(1, 2, 7, 7)], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
     ceil_mode=1)
case("maxpool_dilation", "MaxPool", 17, [f(1, 1, 6, 6)], kernel_shape=[2, 2], dilations=[2, 2])
case("avgpool_exclude_pad", "AveragePool", 17, [f(1, 2, 5, 5)], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
case("avgpool_include_pad", "AveragePool", 17, [f(1, 2, 5, 5)], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
     count_include_pad=1, strides=[2, 2])
case("globalavgpool", "GlobalAveragePool", 17, [f(2, 3, 4, 5)])
# Element-wise with broadcasting
case("add_broadcast", "Add", 17, [f(2, 3, 4), f(3, 1)])
case("sub_scalar_left", "Sub", 17, [np.array(1.5, np.float32), f(2, 3)])
case("mul_bias", "Mul", 17, [f(2, 3, 4), f(4)])
case("div_broadcast_both", "Div", 17, [f(2, 1, 4), f(1, 3, 1, low=0.5, high=2)])
case("pow_float", "Pow", 17, [f(3, 4, low=0.1, high=2), f(4, low=-1, high=2)])
case("pow_square", "Pow", 17, [f(3, 4), np.array(2.0, np.float32)])
case("add_int64", "Add", 17, [i64([[1, 2, 3]]), i64([[10], [20]])])
case("div_int64", "Div", 17, [i64([7, -7, 9]), i64([2, 2, 3])])
case("min_three", "Min", 17, [f(2, 3), f(3), f(2, 1)])
case("max_two", "Max", 17, [f(2, 3), f(2, 3)])
# Reductions
case("reducemean_attr_opset13", "ReduceMean", 13, [f(2, 3, 4)], axes=[1, -1], keepdims=1)
case("reducemean_input_opset18", "ReduceMean", 18, [f(2, 3, 4), i64([1])], keepdims=0)
case("reducesum_input_opset13", "ReduceSum", 13, [f(2, 3, 4), i64([0, 2])])
case("reducesum_all", "ReduceSum", 13, [f(2, 3)], keepdims=0)
case("reducemax_attr_opset13", "ReduceMax", 13, [f(3, 4)], axes=[0], keepdims=0)
case("reducemax_input_opset18", "ReduceMax", 18, [f(3, 4), i64([-1])])
# Shapes and movement
case("flatten_axis2", "Flatten", 17, [f(2, 3, 4, 5)], axis=2)
case("flatten_axis0", "Flatten", 17, [f(2, 3)], axis=0)
case("reshape_zero_minus1", "Reshape", 17, [f(2, 3, 4), i64([0, -1, 2])])
case("transpose_perm", "Transpose", 17, [f(2, 3, 4)], perm=[1, 2, 0])
case("transpose_default", "Transpose", 17, [f(2, 3)])
case("concat_axis1", "Concat", 17, [f(2, 1, 3), f(2, 2, 3), f(2, 3, 3)], axis=1)
case("concat_int64", "Concat", 17, [i64([1, 2]), i64([3])], axis=0)
case("split_attr_opset11", "Split", 11, [f(6, 2)], n_out=2, split=[2, 4])
case("split_input_opset13", "Split", 13, [f(2, 5), i64([3, 2])], n_out=2, axis=1)
case("split_equal_opset13", "Split", 13, [f(6, 2)], n_out=3)
case("split_num_outputs_opset18", "Split", 18, [f(7, 2)], n_out=3, num_outputs=3)
case("slice_opset13", "Slice", 13, [f(5, 6), i64([1, -1]), i64([4, -7]), i64([0, 1]), i64([2, -2])])
case("slice_default_axes", "Slice", 13, [f(4, 5), i64([1, 0]), i64([100, 3])])
case("slice_attr_opset9", "Slice", 9, [f(4, 5)], starts=[1], ends=[3], axes=[1])
case("gather_axis1_negative", "Gather", 17, [f(3, 4), i64([[0, -1], [2, 2]])], axis=1)
case("gather_scalar_index", "Gather", 17, [i64([5, 6, 7]), np.array(1, np.int64)], axis=0)
case("unsqueeze_input_opset13", "Unsqueeze", 13, [f(3, 4), i64([0, -1])])
case("unsqueeze_attr_opset11", "Unsqueeze", 11, [f(3, 4)], axes=[1])
case("squeeze_input_opset13", "Squeeze", 13, [f(1, 3, 1, 4), i64([2])])
case("squeeze_all_opset13", "Squeeze", 13, [f(1, 3, 1, 4)])
case("squeeze_attr_opset11", "Squeeze", 11, [f(1, 3, 1, 4)], axes=[0])
case("shape", "Shape", 13, [f(2, 3, 4)])
case("shape_start_end_opset15", "Shape", 15, [f(2, 3, 4, 5)], start=1, end=-1)
case("size", "Size", 13, [f(2, 3, 4)])
case("cast_float_to_int64", "Cast", 13, [f(2, 3, low=-5, high=5)], to=TensorProto.INT64)
case("cast_int64_to_float", "Cast", 13, [i64([1, -3, 7])], to=TensorProto.FLOAT)
case("cast_float_to_bool", "Cast", 13, [np.array([0.0, 0.5, -2.0], np.float32)], to=TensorProto.BOOL)
case("constant_tensor", "Constant", 13, [], value=helper.make_tensor("v", TensorProto.FLOAT, [2, 2], [1, 2, 3, 4]))
case("constant_value_ints", "Constant", 13, [], value_ints=[3, 1, 4])
case("constant_of_shape", "ConstantOfShape", 13, [i64([2, 3])],
     value=helper.make_tensor("v", TensorProto.INT64, [1], [7]))
case("constant_of_shape_default", "ConstantOfShape", 13, [i64([3])])
case("where_broadcast", "Where", 17, [np.array([[True], [False]]), f(2, 3), f(3)])
case("equal_int64", "Equal", 13, [i64([1, 2, 3]), i64([1, 5, 3])])
case("less_float", "Less", 13, [f(2, 3), f(3)])
case("greater_float", "Greater", 13, [f(2, 3), np.array(0.0, np.float32)])
case("greater_or_equal", "GreaterOrEqual", 16, [i64([1, 2, 3]), i64([2])])
case("not", "Not", 13, [np.array([True, False, True])])
case("and", "And", 13, [np.array([[True, False]]), np.array([[True], [False]])])
case("or", "Or", 13, [np.array([True, False]), np.array([False, False])])
case("expand", "Expand", 13, [f(3, 1), i64([2, 1, 4])])
case("range_int", "Range", 13, [np.array(2, np.int64), np.array(11, np.int64), np.array(3, np.int64)])
case("range_float", "Range", 13, [np.array(1.0, np.float32), np.array(-1.0, np.float32),
                                  np.array(-0.5, np.float32)])
case("pad_constant_opset13", "Pad", 13, [f(2, 3), i64([0, 1, 1, 2]), np.array(9.0, np.float32)])
case("pad_reflect", "Pad", 13, [f(3, 4), i64([1, 2, 1, 2])], mode="reflect")
case("pad_edge", "Pad", 13, [f(2, 3), i64([1, 1, 0, 2])], mode="edge")
case("pad_axes_opset18", "Pad", 18, [f(2, 3, 4), i64([1, 2]), None, i64([2])])
case("pad_attr_opset10", "Pad", 10, [f(2, 2)], pads=[1, 0, 0, 1], value=-1.0)
case("resize_nearest_scales", "Resize", 13, [f(1, 1, 2, 3), None, np.array([1, 1, 2, 2], np.float32)],
     mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
case("resize_nearest_default", "Resize", 13, [f(1, 1, 3, 3), None, np.array([1, 1, 1.5, 2], np.float32)])
case("resize_linear_half_pixel", "Resize", 13, [f(1, 2, 3, 4), None, np.array([1, 1, 2, 1.5], np.float32)],
     mode="linear")
case("resize_linear_align_corners_sizes", "Resize", 13, [f(1, 1, 3, 4), None, None, i64([1, 1, 5, 7])],
     mode="linear", coordinate_transformation_mode="align_corners")
case("resize_linear_pytorch", "Resize", 13, [f(1, 1, 4, 4), None, np.array([1, 1, 0.5, 0.75], np.float32)],
     mode="linear", coordinate_transformation_mode="pytorch_half_pixel")
case("identity", "Identity", 13, [f(2, 2)])
case("dropout_inference", "Dropout", 13, [f(2, 3)])
case("tile", "Tile", 13, [f(2, 3), i64([2, 3])])
case("tile_int64", "Tile", 13, [i64([[1, 2]]), i64([3, 1])])
case("add_mask_broadcast_middle", "Add", 17, [f(2, 3, 4, 5), f(2, 1, 4, 5)])
case("div_broadcast_middle", "Div", 17, [f(2, 3, 4, 5), f(1, 3, 1, 1, low=0.5, high=2)])
# Ops found missing by the zoo sweep (scripts/check_zoo.py): PReLU, Mish, PixelShuffle, LRN, …
case("prelu_channel_slope", "PRelu", 16, [f(2, 3, 4, 4), f(3, 1, 1)])
case("prelu_scalar_slope", "PRelu", 13, [f(2, 5), np.array([0.25], np.float32)])
case("mish_opset18", "Mish", 18, [f(3, 7, low=-25, high=25)])
case("selu", "Selu", 13, [f(4, 4, low=-3, high=3)])
case("celu", "Celu", 12, [f(4, 4, low=-3, high=3)], alpha=0.7)
case("softsign", "Softsign", 13, [f(4, 4)])
case("thresholded_relu", "ThresholdedRelu", 10, [f(4, 4)], alpha=0.5)
case("tan", "Tan", 13, [f(3, 3, low=-1, high=1)])
case("atan", "Atan", 13, [f(3, 3)])
case("mean_three", "Mean", 13, [f(2, 3), f(3), f(2, 1)])
case("lrn", "LRN", 13, [f(2, 5, 3, 3)], size=3, alpha=0.01, beta=0.75, bias=1.5)
case("depth_to_space_dcr", "DepthToSpace", 13, [f(2, 8, 2, 3)], blocksize=2)
case("depth_to_space_crd", "DepthToSpace", 13, [f(1, 18, 2, 2)], blocksize=3, mode="CRD")
case("space_to_depth", "SpaceToDepth", 13, [f(2, 3, 4, 6)], blocksize=2)
case("trilu_upper", "Trilu", 14, [f(2, 4, 5)])
case("trilu_lower_k", "Trilu", 14, [f(4, 3), np.array(-1, np.int64)], upper=0)
case("trilu_upper_k_bool", "Trilu", 14, [np.ones((3, 3), np.bool_), np.array(1, np.int64)])
case("argmax_keepdims", "ArgMax", 13, [f(3, 4, 5)], axis=1)
case("argmax_ties_last", "ArgMax", 13, [np.array([[1, 3, 3], [2, 2, 0]], np.float32)], axis=1, keepdims=0,
     select_last_index=1)
case("argmin_int64", "ArgMin", 13, [i64([[4, 1, 1], [0, 5, -2]])], axis=-1, keepdims=0)
case("topk_largest", "TopK", 11, [f(2, 6), i64([3])], n_out=2)
case("topk_smallest_axis0", "TopK", 11, [f(5, 3), i64([2])], n_out=2, axis=0, largest=0)
case("cumsum", "CumSum", 14, [f(2, 5), np.array(1, np.int64)])
case("cumsum_exclusive_reverse_int64", "CumSum", 14, [i64([[1, 2, 3], [4, 5, 6]]), np.array(0, np.int64)],
     exclusive=1, reverse=1)
case("gather_elements", "GatherElements", 13, [f(3, 4), i64([[0, 3, -1], [2, 2, 1]])], axis=1)
# Opset 23/24 ops (PyTorch's exporter emits Attention for scaled_dot_product_attention at opset 23).
case("attention_4d", "Attention", 23, [f(2, 3, 4, 8), f(2, 3, 5, 8), f(2, 3, 5, 6)])
case("attention_3d_gqa_causal", "Attention", 23, [f(2, 4, 16), f(2, 4, 8), f(2, 4, 8)], q_num_heads=4,
     kv_num_heads=2, is_causal=1)
case("attention_bool_mask_scale", "Attention", 23,
     [f(1, 2, 3, 4), f(1, 2, 5, 4), f(1, 2, 5, 4), np.array([[True, True, False, True, False]] * 3)],
     scale=0.3)
case("attention_float_mask_past", "Attention", 23,
     [f(1, 2, 2, 4), f(1, 2, 2, 4), f(1, 2, 2, 4), f(1, 1, 2, 5), f(1, 2, 3, 4), f(1, 2, 3, 4)], n_out=3,
     is_causal=1)
case("rms_normalization", "RMSNormalization", 23, [f(2, 3, 8), f(8)], epsilon=1e-5)
case("swish_opset24", "Swish", 24, [f(3, 5, low=-6, high=6)], alpha=0.7)
case("mod_float_python_opset28", "Mod", 28, [f(3, 4, low=-5, high=5), f(4, low=0.5, high=2)])
case("conv_opset22", "Conv", 22, [f(1, 2, 5, 5), f(3, 2, 3, 3), f(3)], pads=[1, 1, 1, 1])

out = os.path.join(os.path.dirname(__file__), "..", "Tests", "Data", "executor_op_cases.json")
with open(out, "w") as fh:
    json.dump({"generator": f"onnxruntime {ort.__version__}, onnx {onnx.__version__}", "cases": cases}, fh)
print(f"{len(cases)} cases -> {out}")
