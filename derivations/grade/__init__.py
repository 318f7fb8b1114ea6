"""Grading students' answers against a solved problem: a restricted answer parser, layered
equivalence (exact, then random points) and a table of diagnoses for wrong answers."""
