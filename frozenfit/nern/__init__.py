"""NeRN: represent a CNN's convolution kernels with a small coordinate-to-kernel predictor."""
