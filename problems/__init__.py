"""The problem catalogue: one module per problem, grouped by sheet."""
