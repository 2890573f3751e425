// AVX-512 micro-kernels, compiled for `znver4`. Called only from TensorCore after a CPUID check.
// (Filled in by the GEMM work.)
