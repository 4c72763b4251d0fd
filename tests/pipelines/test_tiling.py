import pytest
import torch
from torch.nn import functional as F

from ganforge.pipelines.tiling import _ramp, pad_to_multiple, tiled_apply


def test_pointwise_function_is_exact_for_any_size():
    image = torch.rand(1, 3, 53, 71, generator=torch.Generator().manual_seed(0))
    out = tiled_apply(lambda t: t * 2 - 1, image, tile=16, overlap=4)
    assert out.shape == image.shape
    assert torch.allclose(out, image * 2 - 1, atol=1e-6)


def test_upscaling_keeps_scale_times_size():
    image = torch.rand(1, 1, 37, 29, generator=torch.Generator().manual_seed(1))
    up = tiled_apply(
        lambda t: F.interpolate(t, scale_factor=4, mode="nearest"), image, tile=12, overlap=4, scale=4
    )
    assert up.shape == (1, 1, 148, 116)
    assert torch.allclose(up, F.interpolate(image, scale_factor=4, mode="nearest"), atol=1e-6)


def test_convolution_matches_untiled_away_from_seams():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 3, 3, padding=1)
    image = torch.rand(1, 3, 64, 64)
    whole = conv(image).detach()
    tiled = tiled_apply(conv, image, tile=24, overlap=8)
    # a 3x3 conv is wrong only on a tile's outermost pixel, which the blend all but ignores
    assert (tiled - whole).abs().max() < 1e-2
    assert (tiled - whole).abs().mean() < 1e-4


def test_multiple_padding_is_cropped_back():
    seen = []

    def fn(t):
        seen.append(tuple(t.shape[-2:]))
        return t

    image = torch.rand(1, 1, 30, 45)
    out = tiled_apply(fn, image, tile=64, overlap=8, multiple=16)
    assert out.shape == image.shape and torch.equal(out, image)
    assert all(h % 16 == 0 and w % 16 == 0 for h, w in seen)
    padded, pad = pad_to_multiple(image, 16)
    assert padded.shape[-2:] == (32, 48) and pad == (2, 3)


def test_ramp_is_positive_and_symmetric():
    r = _ramp(10, 3, torch.device("cpu"))
    assert torch.all(r > 0) and torch.equal(r, r.flip(0))
    assert r.tolist()[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])  # overlap 3: no margin
    r8 = _ramp(20, 8, torch.device("cpu"))
    assert r8[:4].tolist() == pytest.approx([1e-3, 1e-3, 1 / 7, 2 / 7]) and r8[8:12].tolist() == [1.0] * 4


def test_rejects_batches():
    with pytest.raises(ValueError, match="one image"):
        tiled_apply(lambda t: t, torch.zeros(2, 1, 8, 8))


def test_tiled_apply_reports_progress_and_can_be_cancelled():
    image = torch.rand(1, 3, 100, 70) * 2 - 1
    calls: list[tuple[int, int]] = []
    out = tiled_apply(lambda t: t, image, tile=32, overlap=8, progress=lambda d, t: calls.append((d, t)))
    assert torch.allclose(out, image, atol=1e-6)
    total = calls[0][1]
    assert calls[0] == (0, total) and calls[-1] == (total, total) and total == len(calls) - 1 > 1
    assert [d for d, _ in calls] == list(range(total + 1))

    class Cancelled(Exception):
        pass

    def cancel_after_two(done: int, total: int) -> None:
        if done >= 2:
            raise Cancelled

    with pytest.raises(Cancelled):
        tiled_apply(lambda t: t, image, tile=32, overlap=8, progress=cancel_after_two)
