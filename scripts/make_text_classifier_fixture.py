"""Writes Tests/Fixtures/text-classifier/: a tiny bag-of-words text classifier in ONNX (opset 17),
its WordPiece vocab.txt, a labelled CSV and a topic rule file, for the `prunekit eval` text tests.

model.onnx: logits[b, 3] = mean over real tokens of E[input_ids] (E: [V, 3]) + bias; E is set by hand
so that sentiment words vote for their class (0 negative, 1 neutral, 2 positive). A second model,
pruned.onnx, has the neutral column of E zeroed for half the words (a stand-in for a pruned model).
Run: python3 scripts/make_text_classifier_fixture.py
"""
import csv
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "text-classifier")
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
NEG = ["bad", "awful", "late", "lost", "broken", "hate"]
POS = ["good", "great", "love", "thanks", "fast", "nice"]
NEU = ["the", "my", "flight", "iphone", "car", "festival", "game", "was", "is", "a", "new", "today"]
VOCAB = SPECIAL + NEG + POS + NEU


def embedding(prune=False):
    e = np.zeros((len(VOCAB), 3), dtype=np.float32)
    for i, w in enumerate(VOCAB):
        if w in NEG:
            e[i] = [3, 0, -1]
        elif w in POS:
            e[i] = [-1, 0, 3]
        elif w not in SPECIAL:  # [CLS]/[SEP]/[PAD]/[UNK] vote for nothing
            e[i] = [0, 0.6, 0]
    if prune:
        for i in range(len(SPECIAL), len(VOCAB), 2):
            e[i, 1] = 0
    return e


def model(prune):
    ids = helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"])
    mask = helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"])
    out = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 3])
    inits = [
        numpy_helper.from_array(embedding(prune), "E"),
        numpy_helper.from_array(np.array([0, 0.2, 0], dtype=np.float32), "bias"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2"),
    ]
    nodes = [
        helper.make_node("Gather", ["E", "input_ids"], ["emb"], name="gather"),
        helper.make_node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT, name="cast"),
        helper.make_node("Unsqueeze", ["maskf", "axis2"], ["mask3"], name="unsqueeze"),
        helper.make_node("Mul", ["emb", "mask3"], ["masked"], name="mul"),
        helper.make_node("ReduceSum", ["masked", "axis1"], ["sum"], keepdims=0, name="sum"),
        helper.make_node("ReduceSum", ["mask3", "axis1"], ["count"], keepdims=0, name="count"),
        helper.make_node("Div", ["sum", "count"], ["mean"], name="div"),
        helper.make_node("Add", ["mean", "bias"], ["logits"], name="add"),
    ]
    graph = helper.make_graph(nodes, "bag-of-words", [ids, mask], [out], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m)
    return m


def main():
    os.makedirs(OUT, exist_ok=True)
    onnx.save(model(False), os.path.join(OUT, "model.onnx"))
    onnx.save(model(True), os.path.join(OUT, "pruned.onnx"))
    with open(os.path.join(OUT, "vocab.txt"), "w") as f:
        f.write("\n".join(VOCAB) + "\n")
    rng = np.random.default_rng(1)
    rows = []
    topics = ["flight", "iphone", "car", "festival", "game"]
    for i in range(60):
        label = i % 3
        words = [topics[i % 5], "was"] + list(rng.choice([NEG, NEU, POS][label], size=2)) + ["today"]
        if i % 7 == 0:  # some hard cases: a word of another class
            words.append(rng.choice(POS if label == 0 else NEG))
        rows.append({"text": " ".join(words), "sentiment": ["negative", "neutral", "positive"][label],
                     "lang": "en" if i % 4 else "xx"})
    with open(os.path.join(OUT, "texts.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["text", "sentiment", "lang"])
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(OUT, "topics.txt"), "w") as f:
        f.write("# topic of a text: GROUP: words\nairlines: flight\nApple: iphone\ndriverless cars: car\n"
                "festival: festival\nsport: game\n")


if __name__ == "__main__":
    main()
