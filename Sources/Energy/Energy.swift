// Energy: meters (RAPL, hwmon, perf, NVML) with honest fallbacks, modelled energy per inference,
// carbon intensity and PUE; every figure carries its provenance. Imports ModelGraph only.
import ModelGraph
