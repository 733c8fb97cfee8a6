"""hubgen: a static site generator for B2B content hubs."""
__version__ = "0.1.0"
