"""Shared vocabulary every layer may import: settings, the output contract, code spellings.

Nothing here imports `agent`, `tools`, `store` or `apps`; they all import from here.
"""
