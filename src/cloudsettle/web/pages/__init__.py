"""The UI's page modules: one module per section, each with its own ``router``.

:mod:`cloudsettle.web.routes` includes the router of every module in this
package, so a new section is a new module (and its templates), nothing else.
"""
