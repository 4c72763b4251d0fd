"""PSNR / PSNR-Y / SSIM against hand-computed values and scikit-image's reference implementation."""

import math

import pytest
import torch
from skimage.metrics import structural_similarity

from ganforge.errors import ConfigError
from ganforge.metrics.image_quality import psnr, psnr_y, rgb_to_y, ssim, ssim_y


def pair(seed=0, shape=(2, 3, 24, 24), noise=0.1):
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(shape, generator=g) * 2 - 1
    b = (a + noise * torch.randn(shape, generator=g)).clamp(-1, 1)
    return a, b


def test_psnr_hand_computed():
    a = torch.zeros(1, 1, 8, 8)
    b = torch.full((1, 1, 8, 8), 0.1, dtype=torch.float64)  # MSE 0.01 on a range of 2: 10 log10(4 / 0.01)
    assert psnr(a, b).item() == pytest.approx(10 * math.log10(400), abs=1e-9)
    # one pixel off by 1.0 in 64: MSE 1/64
    c = torch.zeros(1, 1, 8, 8)
    c[0, 0, 3, 3] = 1.0
    assert psnr(a, c).item() == pytest.approx(10 * math.log10(4 * 64), abs=1e-9)
    # the crop removes the border, so an error only on the border does not count
    d = torch.zeros(1, 1, 8, 8)
    d[..., 0, :] = 0.5
    assert psnr(a, d, crop=1).item() == math.inf
    assert psnr(a, a).item() == math.inf


def test_psnr_uint8_equals_float_and_is_per_image():
    a, b = pair()
    ua, ub = ((a + 1) * 127.5).round().to(torch.uint8), ((b + 1) * 127.5).round().to(torch.uint8)
    mse255 = (ua.double() - ub.double()).pow(2).flatten(1).mean(1)
    expected = 10 * torch.log10(255.0**2 / mse255)
    assert torch.allclose(psnr(ua, ub), expected, atol=1e-9)
    assert psnr(a, b).shape == (2,)
    assert torch.allclose(psnr(a[:1], b[:1]), psnr(a, b)[:1])


def test_psnr_y_bt601():
    # gray -1 -> Y 16, gray +1 -> Y 235: the error is 219 on a 255 range
    lo, hi = -torch.ones(1, 1, 4, 4), torch.ones(1, 1, 4, 4)
    assert rgb_to_y(lo).unique().item() == pytest.approx(16.0)
    assert rgb_to_y(hi).unique().item() == pytest.approx(235.0)
    assert psnr_y(lo, hi).item() == pytest.approx(20 * math.log10(255 / 219), abs=1e-9)
    # pure red (1, 0, 0) in [0, 1] has Y = 16 + 65.481
    red = torch.tensor([1.0, -1.0, -1.0]).view(1, 3, 1, 1).expand(1, 3, 4, 4)
    assert rgb_to_y(red).unique().item() == pytest.approx(81.481)
    black = -torch.ones(1, 3, 4, 4)
    assert psnr_y(black, red).item() == pytest.approx(20 * math.log10(255 / 65.481), abs=1e-9)


def test_ssim_constant_images_hand_computed():
    # constant images: variances are 0, so SSIM = (2 m1 m2 + C1) / (m1^2 + m2^2 + C1)
    m1, m2 = 0.2, -0.3
    a = torch.full((1, 1, 16, 16), m1, dtype=torch.float64)
    b = torch.full((1, 1, 16, 16), m2, dtype=torch.float64)
    c1 = (0.01 * 2) ** 2
    expected = (2 * m1 * m2 + c1) / (m1**2 + m2**2 + c1)
    assert ssim(a, b).item() == pytest.approx(expected, abs=1e-9)
    assert ssim(a, a).item() == pytest.approx(1.0, abs=1e-12)


def test_ssim_matches_wang_reference_as_in_skimage():
    a, b = pair(seed=1)
    ours = ssim(a, b)
    for i in range(2):
        ref = structural_similarity(
            a[i].permute(1, 2, 0).double().numpy(),
            b[i].permute(1, 2, 0).double().numpy(),
            data_range=2.0,
            channel_axis=2,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
        assert ours[i].item() == pytest.approx(ref, abs=1e-9)
    assert 0.5 < ours.min() and ours.max() < 1.0
    assert ssim_y(a, b).shape == (2,) and (ssim_y(a, b) > ours - 0.2).all()


def test_bad_inputs_raise_one_line_errors():
    a, b = pair()
    with pytest.raises(ConfigError, match="differ in shape"):
        psnr(a, b[:, :1])
    with pytest.raises(ConfigError, match="crop=12 leaves nothing"):
        psnr(a, b, crop=12)
    with pytest.raises(ConfigError, match="at least 11x11"):
        ssim(a[..., :8, :8], b[..., :8, :8])


def test_colorfulness_of_constructed_images():
    from ganforge.metrics.image_quality import colorfulness

    gray = torch.linspace(0, 255, 16).round().to(torch.uint8).view(1, 1, 4, 4).expand(1, 3, 4, 4)
    assert colorfulness(gray).tolist() == [0.0]
    red = torch.zeros(1, 3, 4, 4, dtype=torch.uint8)
    red[:, 0] = 255  # rg = 255, yb = 127.5 everywhere: no spread, M = 0.3 * |mean|
    assert colorfulness(red).item() == pytest.approx(0.3 * (255**2 + 127.5**2) ** 0.5)  # 85.53
    halves = torch.zeros(1, 3, 4, 4, dtype=torch.uint8)
    halves[:, 0, :, :2] = 255  # left red, right green: rg = +-255 (std 255), yb = 127.5 (std 0)
    halves[:, 1, :, 2:] = 255
    assert colorfulness(halves).item() == pytest.approx(255 + 0.3 * 127.5)  # 293.25
    # float images in [-1, 1] give the same figures as their uint8 pixels
    both = torch.cat([red, halves, gray])
    assert torch.allclose(colorfulness(both.float() / 127.5 - 1), colorfulness(both))
    with pytest.raises(ValueError, match="RGB"):
        colorfulness(torch.zeros(1, 1, 4, 4))
