"""Renderers: terminal text, LaTeX and Graphviz."""
