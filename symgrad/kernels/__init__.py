"""NumPy kernels behind the registry's neural-network primitives (convolution, pooling,
batch normalisation). The registry in `symgrad.prims` stays the one table: its entries
name these functions as their implementations and VJP helpers."""
