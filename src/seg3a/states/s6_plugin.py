"""dbt-duckdb plugin of the S6 validator: registers the S6 UDFs (`s6_udfs.S6_UDFS`) on
the connection. Listed in the profile's `plugins` after `python_udfs.plugin`, which
loads spatial and exposes the run values the S6 functions read."""
from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        if plugin_config:
            raise ValueError("E3A_S6_002_CATALOGUE_MALFORMED: the S6 plugin takes no config, "
                             f"got {sorted(plugin_config)}")

    def configure_connection(self, conn) -> None:
        from .s6_udfs import register

        register(conn)
