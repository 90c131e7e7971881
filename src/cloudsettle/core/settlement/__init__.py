"""The reference settlement engine: the steps of spec/settlement-rules.md, one module each.

Plain Python over frozen dataclasses and exact decimals: slow and obviously
right. It explains single lines and small statements and is the oracle the bulk
engine is tested against.
"""
