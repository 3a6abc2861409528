"""Helpers shared by more than one test module, imported as tests.support.<module>; a helper
with a single user stays next to it."""
