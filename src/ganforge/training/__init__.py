"""Generic training: the trainer, checkpoints, run directories, logs and data-parallel helpers."""
