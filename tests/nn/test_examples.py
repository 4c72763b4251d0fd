"""The shared example inputs (nn/examples.py): the draws every model made by hand before, in the same
order, so registry tests and `ganforge export` see the same tensors."""

import torch

from ganforge.nn.examples import ImageInputs, NoiseInputs, image_inputs, noise_inputs
from ganforge.registry import MODELS, create_model


class _G(NoiseInputs, torch.nn.Module):
    def __init__(self, num_classes: int):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.z_dim, self.num_classes = 5, num_classes


class _D(ImageInputs, torch.nn.Module):
    def __init__(self, num_classes: int):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.in_channels, self.img_size, self.num_classes = 2, 4, num_classes


def test_noise_inputs_draw_z_then_labels():
    (z,) = _G(0).example_inputs(3, torch.Generator().manual_seed(1))
    assert torch.equal(z, torch.randn(3, 5, generator=torch.Generator().manual_seed(1)))
    z, labels = _G(4).example_inputs(3, torch.Generator().manual_seed(1))
    g = torch.Generator().manual_seed(1)
    assert torch.equal(z, torch.randn(3, 5, generator=g))
    assert torch.equal(labels, torch.randint(0, 4, (3,), generator=g))


def test_image_inputs_lie_in_the_model_range_and_shape():
    images, labels = _D(3).example_inputs(6, torch.Generator().manual_seed(2))
    g = torch.Generator().manual_seed(2)
    assert torch.equal(images, torch.rand((6, 2, 4, 4), generator=g) * 2 - 1)
    assert torch.equal(labels, torch.randint(0, 3, (6,), generator=g))
    assert images.min() >= -1 and images.max() <= 1
    (odd,) = image_inputs(_D(0), 2, torch.Generator().manual_seed(0), channels=1, size=7)
    assert odd.shape == (2, 1, 7, 7)
    assert len(noise_inputs(_G(0), 2, torch.Generator())) == 1


def test_every_registered_model_has_example_inputs_that_run():
    for entry in MODELS:
        model = create_model(entry.name, **entry.meta.get("tiny", {}))
        inputs = model.example_inputs(2, torch.Generator().manual_seed(0))
        assert all(t.shape[0] == 2 for t in inputs), entry.name
