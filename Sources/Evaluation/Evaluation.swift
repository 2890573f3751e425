// Evaluation: accuracy, per-class and per-group metrics, robustness, agreement with the dense
// model, latency benchmarking. Imports ModelGraph and Energy.
import Energy
import ModelGraph
