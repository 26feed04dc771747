"""The guideline engine: ICD-10-CM Official Guidelines, as rule packs, applied to one chart.

`engine.GuidelineEngine.decide` turns a chart's mentions into the code list a certified coder
would produce for the setting: mentions that may not be coded are rejected with the rule that says
so, the rest become codes, and the rule kinds of `tools.rules.schema` then rewrite the list in a
fixed order of steps. Every rule that changes or confirms a code is recorded in its `rules`.
`delivery` holds what the graph's other nodes ask of the rules (edits, HCC flags, CDI queries).
"""
