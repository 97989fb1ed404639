"""HTTP routes: the collector, health and metrics, the admin API and the OpenAPI document."""
