"""Suite-wide settings: hypothesis without per-example deadlines (a loaded 2-core CI machine
makes timing meaningless; the properties are what the tests check)."""

from hypothesis import settings

settings.register_profile("ohq", deadline=None)
settings.load_profile("ohq")
