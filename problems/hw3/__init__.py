"""Sheet hw3: scalar backprop, computational graphs and conceptual questions."""
