"""Sheet a1: GELU descent, logic-gate MLPs, softmax-CE backprop, convolution arithmetic."""
