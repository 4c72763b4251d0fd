import pytest
import torch

from ganforge.errors import ConfigError
from ganforge.models.fastgan import FastGANGenerator
from ganforge.sampling import class_labels, weighted_labels

TINY = dict(z_dim=8, img_size=32, channel_base=64, max_channels=8)


def test_weighted_labels_follow_the_frequencies_without_chance():
    weights = torch.tensor([1962.0, 296, 171, 349, 163, 124, 813])  # the emoji groups
    labels = weighted_labels(1000, weights)
    expected = 1000 * weights / weights.sum()
    assert labels.dtype == torch.int64 and labels.shape == (1000,)
    assert (torch.bincount(labels, minlength=7) - expected).abs().max() <= 2
    assert torch.equal(labels, weighted_labels(1000, weights))  # no chance: the same every time
    assert torch.equal(weighted_labels(64, weights), labels[:64])  # a prefix of a longer draw
    assert len(set(labels[:8].tolist())) >= 3  # mixed, not sorted by class
    assert set(weighted_labels(500, torch.tensor([0.0, 1.0, 0.0, 3.0])).tolist()) == {1, 3}


def test_class_labels_of_a_model_with_class_weights():
    G = FastGANGenerator(num_classes=3, class_weights=[0, 1, 3], **TINY)
    labels = class_labels(G, 400, None)
    assert torch.bincount(labels, minlength=3).tolist() == pytest.approx([0, 100, 300], abs=2)
    assert class_labels(G, 5, 2).tolist() == [2] * 5
    assert class_labels(FastGANGenerator(**TINY), 5, None) is None
    with pytest.raises(ConfigError, match="--class 3 is out of range; this model has classes 0..2"):
        class_labels(G, 5, 3)
