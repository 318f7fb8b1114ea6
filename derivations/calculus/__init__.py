"""The calculus toolkit: derivative rules, graphs, optimizer updates and the numeric checks."""
