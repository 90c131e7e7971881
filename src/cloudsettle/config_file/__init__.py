"""The YAML configuration file: strict reading, schema, loading and the version codec.

``load_config`` turns a file into a :class:`ConfigBundle` of core objects or
raises one :class:`ConfigError` listing every problem; ``codec`` stores an
agreement version as canonical JSON with a fingerprint.
"""

from __future__ import annotations

from cloudsettle.config_file.errors import ConfigError, ConfigIssue
from cloudsettle.config_file.loader import ConfigBundle, load_config, load_config_text

__all__ = ["ConfigBundle", "ConfigError", "ConfigIssue", "load_config", "load_config_text"]
