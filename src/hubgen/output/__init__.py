"""Output: the only code that writes the built site (writer)."""
