"""The one error type of the feature stage."""


class FeatureError(ValueError):
    """A feature that cannot be computed as configured; the message names the key or function."""
