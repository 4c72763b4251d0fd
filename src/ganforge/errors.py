"""Errors that carry a one-line message meant for the user: what is wrong and how to fix it."""


class GanforgeError(Exception):
    """Base for every error whose message is shown to the user as is, without a traceback."""


class ConfigError(GanforgeError, ValueError):
    """A config key or value is unknown or invalid."""


class DataError(GanforgeError):
    """A dataset is missing, empty or unreadable."""


class CheckpointError(GanforgeError):
    """A checkpoint or bundle is missing, corrupt or not ganforge's."""


class TrainingDiverged(GanforgeError):
    """Training produced NaN or inf more times than the health guard allows."""
