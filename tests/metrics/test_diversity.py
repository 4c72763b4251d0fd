"""Sample diversity, per-class diversity and classifier confidence/entropy on constructed sets."""

import math

import pytest
import torch

from ganforge.errors import ConfigError
from ganforge.metrics.diversity import (
    class_histogram_entropy,
    classifier_confidence,
    diversity,
    mean_pairwise_distance,
    per_class_diversity,
    pixel_spread,
)


def gaussian(n: int, d: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


def test_mean_pairwise_distance_matches_a_hand_computation():
    x = torch.tensor([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    # pairs: 5, 10, 5 -> mean 20 / 3
    assert mean_pairwise_distance(x) == pytest.approx(20 / 3)
    assert mean_pairwise_distance(torch.zeros(5, 3, 4, 4)) == 0.0


def test_identical_images_have_zero_diversity():
    real = gaussian(200)
    same = real[:1].repeat(50, 1)
    assert diversity(same, real) == pytest.approx(0.0, abs=1e-6)  # cdist rounding only


def test_a_real_set_against_another_draw_of_itself_is_about_one():
    real, other = gaussian(600, seed=1), gaussian(600, seed=2)
    assert diversity(other, real) == pytest.approx(1.0, abs=0.02)
    assert diversity(real, real) == 1.0
    # half the spread -> half the diversity
    assert diversity(other * 0.5, real) == pytest.approx(0.5, abs=0.01)


def test_the_subset_bound_uses_a_fixed_choice():
    x = gaussian(300)
    a = mean_pairwise_distance(x, max_n=100, seed=3)
    assert a == mean_pairwise_distance(x, max_n=100, seed=3)
    assert a != mean_pairwise_distance(x, max_n=100, seed=4)
    assert a == pytest.approx(mean_pairwise_distance(x, max_n=None), rel=0.05)


def test_per_class_diversity_finds_the_collapsed_class():
    real = gaussian(400, seed=5)
    real_labels = torch.arange(400) % 4
    fake = gaussian(400, seed=6)
    fake_labels = torch.arange(400) % 4
    fake[fake_labels == 2] = fake[fake_labels == 2][0]  # class 2: one image for every z
    by_class = per_class_diversity(fake, fake_labels, real, real_labels)
    assert set(by_class) == {0, 1, 2, 3}
    assert by_class[2] == pytest.approx(0.0, abs=1e-6)
    assert all(v == pytest.approx(1.0, abs=0.1) for c, v in by_class.items() if c != 2)
    # a set that varies only ACROSS classes passes the global check but not the per-class one
    means = gaussian(4, seed=7) * 3
    collapsed = means[fake_labels]
    assert diversity(collapsed, real) > 0.5
    assert max(per_class_diversity(collapsed, fake_labels, real, real_labels).values()) < 1e-6


def test_per_class_diversity_rejects_mismatched_labels():
    with pytest.raises(ConfigError, match="one label per item"):
        per_class_diversity(gaussian(10), torch.zeros(9, dtype=torch.long), gaussian(10), torch.zeros(10))
    with pytest.raises(ConfigError, match="at least 2 fake and 2 real"):
        per_class_diversity(gaussian(2), torch.tensor([0, 1]), gaussian(2), torch.tensor([0, 1]))


def test_diversity_rejects_too_few_or_spreadless_sets():
    with pytest.raises(ConfigError, match="at least 2 items"):
        mean_pairwise_distance(gaussian(1))
    with pytest.raises(ConfigError, match="no spread"):
        diversity(gaussian(5), torch.ones(5, 16))


def test_classifier_confidence_and_class_entropy():
    sure = torch.eye(10).repeat(3, 1) * 100  # 30 images, every class three times, certain
    assert classifier_confidence(sure) == pytest.approx(1.0)
    assert class_histogram_entropy(sure) == pytest.approx(math.log(10))
    unsure = torch.zeros(30, 10)
    assert classifier_confidence(unsure) == pytest.approx(0.1)
    one_class = torch.zeros(30, 10)
    one_class[:, 3] = 5.0
    assert class_histogram_entropy(one_class) == 0.0
    two = torch.zeros(4, 10)
    two[:2, 0] = two[2:, 1] = 1.0
    assert class_histogram_entropy(two) == pytest.approx(math.log(2))
    with pytest.raises(ConfigError, match=r"shape \(N, K\)"):
        classifier_confidence(torch.zeros(10))


def test_pixel_spread():
    assert pixel_spread(torch.ones(4, 1, 8, 8)) == 0.0
    pair = torch.stack([torch.zeros(1, 2, 2), torch.ones(1, 2, 2)])
    assert pixel_spread(pair) == pytest.approx(math.sqrt(0.5))
