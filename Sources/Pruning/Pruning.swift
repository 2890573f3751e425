// Pruning: coupling (dependency groups), importance criteria, surgery (masks and physical removal),
// schedules (one-shot, iterative, gradual, rewinding, sensitivity). Imports ModelGraph only.
import ModelGraph
