"""The 50-image history pool (Shrivastava et al. 2017) as CycleGAN uses it."""

from collections import Counter

import pytest
import torch

from ganforge.errors import CheckpointError, ConfigError
from ganforge.image_pool import ImagePool


def images(values):
    """One 1x2x2 image per value, filled with it, so images can be told apart by their value."""
    return torch.tensor(values, dtype=torch.float32).view(-1, 1, 1, 1).expand(-1, 1, 2, 2).clone()


def values(batch):
    return batch[:, 0, 0, 0].tolist()


def test_fills_first_and_returns_the_new_images_until_full():
    pool, g = ImagePool(5), torch.Generator().manual_seed(0)
    state = g.get_state()
    assert values(pool.query(images([1, 2, 3]), g)) == [1, 2, 3]
    assert len(pool) == 3
    assert values(pool.query(images([4, 5]), g)) == [4, 5]
    assert len(pool) == 5 and sorted(values(pool.images)) == [1, 2, 3, 4, 5]
    assert torch.equal(g.get_state(), state)  # no coin is drawn while the pool fills


def test_when_full_returns_an_old_image_with_probability_one_half():
    pool, g = ImagePool(50), torch.Generator().manual_seed(1)
    pool.query(images(list(range(50))), g)
    old_count = 0
    for q in range(200):
        batch = [1000 + 4 * q + k for k in range(4)]
        before = values(pool.images)
        out = values(pool.query(images(batch), g))
        after = values(pool.images)
        taken = [got for new, got in zip(batch, out, strict=True) if got != new]
        stored = [new for new, got in zip(batch, out, strict=True) if got != new]
        for j, (new, got) in enumerate(zip(batch, out, strict=True)):
            if got != new:  # an old image: one that was in the pool (or stored earlier in this batch)
                assert got in before or got in batch[:j]
        # every old image handed out was replaced in the pool by the new image that came in its place
        assert Counter(after) + Counter(taken) == Counter(before) + Counter(stored)
        old_count += len(taken)
    # 800 fair coins: 400 +- 3.5 standard deviations (14)
    assert 350 < old_count < 450


def test_query_is_deterministic_and_resumes_from_its_state():
    def run(pool, g, start, n):
        return [values(pool.query(images([start + 10 * i + k for k in range(3)]), g)) for i in range(n)]

    pool, g = ImagePool(4), torch.Generator().manual_seed(7)
    whole = run(pool, g, 0, 8)

    first, g2 = ImagePool(4), torch.Generator().manual_seed(7)
    head = run(first, g2, 0, 3)
    state, g_state = first.state_dict(), g2.get_state()
    resumed, g3 = ImagePool(4), torch.Generator()
    resumed.load_state_dict(state)
    g3.set_state(g_state)
    assert head + run(resumed, g3, 30, 5) == whole
    assert state["images"].shape == (4, 1, 2, 2) and state["count"] == 4


def test_empty_pool_state_round_trips_and_size_zero_passes_through():
    pool = ImagePool(3)
    other = ImagePool(3)
    other.load_state_dict(pool.state_dict())
    assert len(other) == 0 and other.images is None
    off, g = ImagePool(0), torch.Generator().manual_seed(0)
    batch = images([1, 2])
    assert torch.equal(off.query(batch, g), batch) and len(off) == 0


def test_bad_sizes_and_states_are_refused():
    with pytest.raises(ConfigError, match="image pool size must be >= 0"):
        ImagePool(-1)
    pool, g = ImagePool(2), torch.Generator().manual_seed(0)
    pool.query(images([1]), g)
    with pytest.raises(ValueError, match="image pool holds"):
        pool.query(torch.zeros(1, 3, 2, 2), g)
    with pytest.raises(CheckpointError, match="holds up to 2 images"):
        ImagePool(5).load_state_dict(pool.state_dict())
