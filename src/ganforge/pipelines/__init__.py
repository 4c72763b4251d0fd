"""Inference on trained models: what the CLI verbs and the studio call."""

from __future__ import annotations

import importlib
from typing import Any

from ganforge.pipelines.generate import GenerateOutput, GeneratePipeline
from ganforge.pipelines.interpolate import InterpolateOutput, InterpolatePipeline
from ganforge.pipelines.loading import LoadedGenerator, load_generator

# the other families' pipelines, imported on first use (some pull in feature extractors)
_LAZY = {
    "BreedPipeline": "breed",
    "ClassifyPipeline": "classify",
    "EditPipeline": "edit",
    "evaluate_generator": "evaluate",
    "ProjectPipeline": "project",
    "StyleMixPipeline": "mix",
    "TranslatePipeline": "translate",
    "UpscalePipeline": "upscale",
}

__all__ = [
    "GenerateOutput",
    "GeneratePipeline",
    "InterpolateOutput",
    "InterpolatePipeline",
    "LoadedGenerator",
    "load_generator",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"ganforge.pipelines.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'ganforge.pipelines' has no attribute {name!r}")
