"""The pure core: money, periods, lines, agreements, deals and the settlement rules.

Nothing here touches a file, a clock, a database or the network, and nothing
imports a third-party package (import-linter checks it). Business problems are
returned as :class:`~cloudsettle.core.findings.Finding` values, never raised.
"""
