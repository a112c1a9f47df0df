"""Real clouds behind :class:`~adapters.libcloud_compute.LibcloudCloud`: one module per
provider with its :class:`~adapters.libcloud_compute.ProviderProfile` and a factory."""
