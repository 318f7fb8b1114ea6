"""Sheet hw1: numerator-layout backprop through a two-layer network."""
