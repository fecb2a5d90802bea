"""Back ends: llvmlite native code (`llvm`, `jit`, `cache`) and the NumPy reference interpreter."""
