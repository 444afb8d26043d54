"""headframe: production control and mine safety for a mining group."""

__version__ = "0.1.0"
