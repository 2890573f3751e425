// Training: reverse-mode gradients for the graph's ops, losses, optimizers, data sets and loaders
// (IDX, CSV), and the masked training loop. Imports ModelGraph only.
import ModelGraph
