"""A small ONNX-to-PyTorch interpreter for the ops of all-MiniLM-L6-v2 (reference gradients and the
training-step peer). Float initializers become torch Parameters (requires_grad); the graph runs
eagerly with torch ops, so autograd gives PyTorch's own gradients. Reference use only (scripts/)."""
import numpy as np
import onnx
from onnx import numpy_helper
import torch

DTYPES = {1: torch.float32, 6: torch.int32, 7: torch.int64, 9: torch.bool, 11: torch.float64}


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class OnnxModule(torch.nn.Module):
    def __init__(self, path):
        super().__init__()
        self.model = onnx.load(path)
        g = self.model.graph
        self.params = torch.nn.ParameterDict()
        self.names = {}
        self.consts = {}
        for t in g.initializer:
            a = numpy_helper.to_array(t)
            if a.dtype == np.float32:
                key = t.name.replace(".", "__")
                self.params[key] = torch.nn.Parameter(torch.from_numpy(a.copy()))
                self.names[t.name] = key
            else:
                self.consts[t.name] = torch.from_numpy(a.copy())
        self.inputs = [i.name for i in g.input]
        self.outputs = [o.name for o in g.output]

    def parameter(self, onnx_name):
        return self.params[self.names[onnx_name]]

    def forward(self, feed):
        v = dict(self.consts)
        for name, key in self.names.items():
            v[name] = self.params[key]
        v.update(feed)
        for n in self.model.graph.node:
            x = [v[i] if i else None for i in n.input]
            a = attrs(n)
            op = n.op_type
            if op == "Constant":
                y = torch.from_numpy(numpy_helper.to_array(a["value"]).copy())
            elif op == "Add": y = x[0] + x[1]
            elif op == "Sub": y = x[0] - x[1]
            elif op == "Mul": y = x[0] * x[1]
            elif op == "Div": y = x[0] / x[1]
            elif op == "Pow": y = torch.pow(x[0], x[1])
            elif op == "Sqrt": y = torch.sqrt(x[0])
            elif op == "Erf": y = torch.erf(x[0])
            elif op == "MatMul": y = torch.matmul(x[0], x[1])
            elif op == "Shape": y = torch.tensor(list(x[0].shape), dtype=torch.int64)
            elif op == "Gather":
                axis = a.get("axis", 0)
                idx = x[1]
                if idx.dim() == 0:
                    y = torch.select(x[0], axis, int(idx))
                else:
                    y = torch.index_select(x[0], axis, idx.reshape(-1)).reshape(
                        list(x[0].shape[:axis]) + list(idx.shape) + list(x[0].shape[axis + 1:]))
            elif op == "Unsqueeze":
                y = x[0]
                for ax in sorted(int(i) for i in x[1]):
                    y = y.unsqueeze(ax if ax >= 0 else ax + y.dim() + 1)
            elif op == "Squeeze":
                y = x[0]
                for ax in sorted((int(i) for i in x[1]), reverse=True):
                    y = y.squeeze(ax)
            elif op == "Concat": y = torch.cat(x, dim=a["axis"])
            elif op == "Reshape":
                shape = [int(s) for s in x[1]]
                shape = [x[0].shape[i] if s == 0 else s for i, s in enumerate(shape)]
                y = x[0].reshape(shape)
            elif op == "Transpose": y = x[0].permute(a["perm"])
            elif op == "Flatten":
                ax = a.get("axis", 1)
                y = x[0].reshape(int(np.prod(x[0].shape[:ax])), -1)
            elif op == "Slice":
                y = x[0]
                starts, ends = x[1].tolist(), x[2].tolist()
                axes = x[3].tolist() if len(x) > 3 and x[3] is not None else list(range(len(starts)))
                steps = x[4].tolist() if len(x) > 4 and x[4] is not None else [1] * len(starts)
                sl = [slice(None)] * y.dim()
                for s, e, ax, st in zip(starts, ends, axes, steps):
                    dim = y.shape[ax]
                    s = max(0, min(dim, s + dim if s < 0 else s))
                    e = max(0, min(dim, e + dim if e < 0 else e))
                    sl[ax] = slice(s, e, st)
                y = y[tuple(sl)]
            elif op == "Cast": y = x[0].to(DTYPES[a["to"]])
            elif op == "Range": y = torch.arange(int(x[0]), int(x[1]), int(x[2]), dtype=x[0].dtype)
            elif op == "ConstantOfShape":
                value = numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, np.float32)
                y = torch.full([int(s) for s in x[0]], value.item(), dtype=torch.from_numpy(value).dtype)
            elif op == "Expand":
                shape = [int(s) for s in x[1]]
                y = x[0] * torch.ones(shape, dtype=x[0].dtype) if x[0].dtype != torch.bool else x[0].expand(
                    torch.broadcast_shapes(x[0].shape, tuple(shape)))
            elif op == "Equal": y = x[0] == x[1]
            elif op == "GreaterOrEqual": y = x[0] >= x[1]
            elif op == "And": y = x[0] & x[1]
            elif op == "Where": y = torch.where(x[0], x[1], x[2])
            elif op == "Softmax": y = torch.softmax(x[0], dim=a.get("axis", -1))
            elif op == "LayerNormalization":
                ax = a.get("axis", -1)
                shape = x[0].shape[ax:]
                y = torch.nn.functional.layer_norm(x[0], shape, x[1], x[2], a.get("epsilon", 1e-5))
            else:
                raise NotImplementedError(op)
            v[n.output[0]] = y
        return [v[o] for o in self.outputs]
