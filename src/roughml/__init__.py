"""roughml: measure the roughness exponent ζ of interfaces from images."""

__version__ = "0.1.0"
