"""Latent editing: directions of meaningful change in a generator's latent space ("genes").

Each method is a pure function (`ganforge.editing.directions`): PCA / GANSpace, SeFa, class genes
and attribute boundaries fitted from labeled images (InterFaceGAN). Directions are stored beside a
bundle's weights (`ganforge.editing.store`) and applied by `ganforge.pipelines.edit.EditPipeline`.
"""

from ganforge.editing.directions import Direction, classes, labels_boundary, pca, sefa
from ganforge.editing.model import GeneratorFacts, generator_facts
from ganforge.editing.store import DirectionSet, load_directions, save_directions

__all__ = [
    "Direction",
    "DirectionSet",
    "GeneratorFacts",
    "classes",
    "generator_facts",
    "labels_boundary",
    "load_directions",
    "pca",
    "save_directions",
    "sefa",
]
