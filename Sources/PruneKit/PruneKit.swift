// PruneKit: the library face. Re-exports the modules and holds the recipes that wire a whole run
// (prune → recover → compress → evaluate → report).
@_exported import Compression
@_exported import Energy
@_exported import Evaluation
@_exported import ModelGraph
@_exported import Pruning
@_exported import Report
@_exported import Runtime
@_exported import TensorCore
@_exported import Training
