"""Golden values for PruneKit's Training tests: a 5-4-3 MLP (Linear-ReLU-Linear, softmax
cross-entropy) on a fixed batch, three optimizer steps with torch.optim.{SGD, Adam, AdamW}.

Writes Tests/TrainingTests/Fixtures/optimizer_steps.json:
  inputs [6, 5], labels [6], initial parameters (PyTorch state_dict names), the loss and gradients
  at the initial parameters, and for each optimizer its hyper-parameters and the parameters after
  each of 3 steps (each step on the same batch).
Run: python3 scripts/training_optimizer_fixture.py   (torch 2.13.0+cpu)
"""
import json
import os

import torch

torch.manual_seed(0)
x = torch.randn(6, 5)
labels = torch.tensor([0, 2, 1, 2, 0, 1])


def make_model():
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3))


def as_lists(model):
    names = {"0.weight": "fc1.weight", "0.bias": "fc1.bias", "2.weight": "fc2.weight", "2.bias": "fc2.bias"}
    return {names[k]: v.detach().flatten().tolist() for k, v in model.state_dict().items()}


model = make_model()
loss = torch.nn.functional.cross_entropy(model(x), labels)
loss.backward()
grads = {k: v for k, v in zip(["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"],
                              [p.grad.flatten().tolist() for p in model.parameters()])}

optimizers = {
    "sgd_momentum": (torch.optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
    "sgd_nesterov": (torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    "adam": (torch.optim.Adam, dict(lr=0.01, weight_decay=0.01)),
    "adamw": (torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1)),
}
runs = {}
for name, (cls, kwargs) in optimizers.items():
    model = make_model()
    opt = cls(model.parameters(), **kwargs)
    steps = []
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), labels).backward()
        opt.step()
        steps.append(as_lists(model))
    runs[name] = {"hyperparameters": kwargs, "steps": steps}

out = {
    "torch_version": torch.__version__,
    "inputs": x.flatten().tolist(),
    "labels": labels.tolist(),
    "initial": as_lists(make_model()),
    "loss": loss.item(),
    "gradients": grads,
    "optimizers": runs,
}
path = os.path.join(os.path.dirname(__file__), "..", "Tests", "TrainingTests", "Fixtures", "optimizer_steps.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
print("wrote", path)
