"""Fréchet distance, KID, precision/recall and Inception Score against reference computations and
constructed cases with known answers."""

import numpy as np
import pytest
import scipy.linalg
import torch

from ganforge.errors import ConfigError
from ganforge.metrics.frechet import FeatureStats, frechet_distance
from ganforge.metrics.inception_score import inception_score
from ganforge.metrics.kid import kernel_inception_distance
from ganforge.metrics.precision_recall import knn_radii, precision_recall


def features(n, d, seed, shift=0.0, scale=1.0):
    """n samples of one correlated Gaussian in d dimensions (the same for every seed), moved and scaled."""
    mix = torch.randn(d, d, generator=torch.Generator().manual_seed(d)) / d**0.5
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, d, generator=g) @ mix) * scale + shift


def scipy_frechet(x, y):
    """The reference computation, as in Heusel et al.'s code: scipy.linalg.sqrtm of S1 S2."""
    x, y = x.double().numpy(), y.double().numpy()
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    covmean = covmean.real if np.iscomplexobj(covmean) else covmean
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


@pytest.mark.parametrize("n,d,shift,scale", [(500, 16, 0.3, 1.5), (300, 64, 0.0, 0.7), (2000, 128, 1.0, 1.0)])
def test_frechet_matches_scipy_sqrtm(n, d, shift, scale):
    x, y = features(n, d, 0), features(n, d, 1, shift, scale)
    ours, ref = frechet_distance(x, y), scipy_frechet(x, y)
    assert ours == pytest.approx(ref, rel=1e-6)
    assert ref > 0.01


def test_frechet_of_a_set_with_itself_is_zero_and_stats_are_unbiased():
    x = features(400, 32, 2)
    assert abs(frechet_distance(x, x)) < 1e-8
    stats = FeatureStats.of(x)
    assert torch.allclose(stats.sigma, torch.from_numpy(np.cov(x.double().numpy(), rowvar=False)))
    assert stats.n == 400 and frechet_distance(stats, x) == pytest.approx(0.0, abs=1e-8)
    # a mean shift of 1 in every one of 32 dimensions adds exactly 32 to the distance
    assert frechet_distance(x, x + 1.0) == pytest.approx(32.0, rel=1e-9)
    with pytest.raises(ConfigError, match="feature sizes differ"):
        frechet_distance(x, x[:, :8])


def mmd2_bruteforce(x, y):
    """Bińkowski et al.'s unbiased MMD^2 written out term by term."""
    x, y = x.double().numpy(), y.double().numpy()
    d, m = x.shape[1], x.shape[0]

    def k(a, b):
        return (a @ b / d + 1) ** 3

    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kid_equals_the_unbiased_mmd_formula():
    x, y = features(30, 8, 3), features(30, 8, 4, shift=0.5)
    # one subset holding every row: the estimate is the full-sample MMD^2 (row order does not matter)
    kid = kernel_inception_distance(x, y, subsets=1, subset_size=30)
    assert kid.mean == pytest.approx(mmd2_bruteforce(x, y), rel=1e-9)
    assert kid.std == 0.0 and kid.subset_size == 30


def test_kid_is_about_zero_for_one_distribution_and_positive_for_two():
    a, b = features(600, 16, 5), features(600, 16, 6)
    same = kernel_inception_distance(a, b, subsets=30, subset_size=150)
    shifted = kernel_inception_distance(a, features(600, 16, 7, shift=0.3), subsets=30, subset_size=150)
    assert abs(same.mean) < 3 * same.std and abs(same.mean) < 0.05 * shifted.mean
    assert shifted.mean > 3 * shifted.std > 0
    # the default subset is half the smaller set, so subsets differ and their spread is real
    half = kernel_inception_distance(a[:50], b[:80], subsets=3)
    assert half.subset_size == 25 and half.std > 1e-6
    with pytest.raises(
        ConfigError, match=r"subset size 51 is larger than the sample \(50 real, 80 generated"
    ):
        kernel_inception_distance(a[:50], b[:80], subsets=3, subset_size=51)


def test_kid_of_a_set_with_itself_is_about_zero():
    # X = Y exactly: the unbiased estimate is -(2/m)(mean k(x,x) - mean k(x,y), x != y), a small
    # negative number that vanishes as m grows
    a = features(400, 16, 8)
    itself = kernel_inception_distance(a, a, subsets=2, subset_size=400)
    k = (a.double() @ a.double().t() / 16 + 1) ** 3
    diag, off = k.diagonal().mean(), (k.sum() - k.diagonal().sum()) / (400 * 399)
    assert itself.mean == pytest.approx(float(-2 / 400 * (diag - off)), rel=1e-9)
    shifted = kernel_inception_distance(a, features(400, 16, 9, shift=0.5), subsets=2, subset_size=400)
    assert abs(itself.mean) < 0.1 * shifted.mean


def test_precision_recall_on_point_clouds_with_known_answers():
    # real: 20 points on a line, 1 apart; their 3rd-neighbour radii are 2 (inside) and 3 (ends)
    real = torch.arange(20.0)[:, None]
    radii = knn_radii(real, k=3)
    assert radii[0] == 3 and radii[1] == 2 and radii[10] == 2 and radii[19] == 3
    # fake: 10 points among the real ones, 10 far away
    fake = torch.cat([torch.arange(10.0) + 0.25, 1000 + 10 * torch.arange(10.0)])[:, None]
    pr = precision_recall(real, fake, k=3)
    assert pr.precision == pytest.approx(0.5)  # only the 10 near fakes lie in the real manifold
    # the near fakes' manifold is [0.25 - 3, 9.25 + 3], holding real 0..12; the far ones hold none
    assert pr.recall == pytest.approx(13 / 20)
    # coverage: real balls holding a fake are those of 0..11 (real 12's ball [10, 14] misses 9.25)
    assert pr.coverage == pytest.approx(12 / 20)
    # density: fake 0.25 lies in 3 real balls, 1.25 in 4, 2.25 in 5 (real 0's is wider), 3.25..9.25
    # in 4 each, the far ones in none: (3 + 4 + 5 + 7 * 4) / (k * 20)
    assert pr.density == pytest.approx(40 / 60)
    both = precision_recall(real, real.clone())
    assert both.precision == 1.0 and both.recall == 1.0 and both.coverage == 1.0
    apart = precision_recall(real, real + 100)
    assert apart.precision == 0.0 and apart.recall == 0.0 and apart.density == 0.0 and apart.coverage == 0.0
    # junk collapsed into one spot inside a wide real ball: precision is fooled, coverage is not
    wide = torch.cat([torch.arange(20.0), torch.tensor([40.0, 60.0, 80.0, 100.0])])[:, None]
    junk = torch.full((20, 1), 70.0) + torch.arange(20.0)[:, None] * 1e-3
    fooled = precision_recall(wide, junk)  # the balls of 60, 80 and 100 (radii 40, 40, 60) hold 70
    assert fooled.precision == 1.0 and fooled.density == 1.0 and fooled.coverage == pytest.approx(3 / 24)
    # works in any dimension: a rotation changes nothing
    q, _ = torch.linalg.qr(torch.randn(5, 5, generator=torch.Generator().manual_seed(0)))
    pad = torch.zeros(len(real), 4)
    rot = precision_recall(torch.cat([real, pad], 1) @ q, torch.cat([fake, torch.zeros(20, 4)], 1) @ q)
    assert rot.precision == pytest.approx(0.5) and rot.recall == pytest.approx(13 / 20)


def test_inception_score_known_values():
    k, n = 10, 200
    confident = torch.full((n, k), -30.0)
    confident[torch.arange(n), torch.arange(n) % k] = 30.0  # one-hot, classes evenly spread in each split
    assert inception_score(confident).mean == pytest.approx(k, rel=1e-6)
    one_class = torch.zeros(n, k)
    one_class[:, 3] = 30.0
    assert inception_score(one_class).mean == pytest.approx(1.0, abs=1e-6)
    assert inception_score(torch.zeros(n, k)).mean == pytest.approx(1.0, abs=1e-12)
    # half the images on class 0, half on class 1, each one-hot: IS = 2
    two = torch.full((n, k), -30.0)
    two[torch.arange(n), torch.arange(n) % 2] = 30.0
    result = inception_score(two, splits=5)
    assert result.mean == pytest.approx(2.0, rel=1e-6) and result.std < 1e-6 and result.splits == 5
    with pytest.raises(ConfigError, match="at least 10 images"):
        inception_score(torch.zeros(5, k))
