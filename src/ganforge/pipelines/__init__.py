"""Inference on trained models: what the CLI verbs and the studio call."""

from ganforge.pipelines.generate import GenerateOutput, GeneratePipeline
from ganforge.pipelines.interpolate import InterpolateOutput, InterpolatePipeline
from ganforge.pipelines.loading import LoadedGenerator, load_generator

__all__ = [
    "GenerateOutput",
    "GeneratePipeline",
    "InterpolateOutput",
    "InterpolatePipeline",
    "LoadedGenerator",
    "load_generator",
]
