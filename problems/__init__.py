"""The problem catalogue: one module per problem, grouped by sheet.

A problem lives in ``problems/<sheet>/<name>.py`` and defines ``PROBLEM``; its id is
``<sheet>/<name>``. Adding the module is all it takes to register it.
"""

#: Sheet order. A bare name such as ``problem3`` resolves to the first sheet in this order
#: that has it (``hw3/problem3``); the catalogue lists the others.
SHEETS = ("hw3", "a1", "hw1", "midterm")

#: The theory problems each sheet poses (``../shared/CATALOGUE.md``; hw1's problem 1 is the
#: implementation task the backend serves). ``sheet`` names any that have no module yet.
SHEET_PROBLEMS = {
    "hw3": ("problem1", "problem2", "problem3", "problem4", "problem5"),
    "a1": ("problem1", "problem2", "problem3", "problem4"),
    "hw1": ("problem2", "problem3", "problem4"),
    "midterm": ("problem1", "problem2", "problem3", "problem4", "problem5", "problem6"),
}
