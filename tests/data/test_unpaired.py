"""Two unpaired domains: --data-a/--data-b, the trainA/trainB layout, and the CycleGAN sets by name."""

import zipfile
from pathlib import Path

import pytest
from PIL import Image

from ganforge.config import DataConfig
from ganforge.data import unpaired
from ganforge.errors import DataError


def write_images(folder: Path, n: int, color, mode: str = "RGB", size=(12, 10)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new(mode, size, color if mode == "RGB" else color[0]).save(folder / f"{i}.png")
    return folder


@pytest.fixture
def layout(tmp_path) -> Path:
    """A CycleGAN-style set: 3 red RGB images in trainA, 4 gray ones in trainB, 2 + 1 test images."""
    root = tmp_path / "apples2oranges"
    write_images(root / "trainA", 3, (200, 20, 20))
    write_images(root / "trainB", 4, (90, 90, 90), mode="L")
    write_images(root / "testA", 2, (10, 200, 10))
    write_images(root / "testB", 1, (10, 10, 200))
    return root


def test_the_train_layout_gives_two_domains_of_one_shape(layout):
    domains = unpaired.load_unpaired(DataConfig(source=str(layout), size=8))
    A, B = domains["A"], domains["B"]
    assert A.images.shape == (3, 3, 8, 8) and B.images.shape == (4, 3, 8, 8)  # gray B becomes RGB
    assert A.images[0, :, 4, 4].tolist() == [200, 20, 20]
    assert B.images[0, :, 4, 4].tolist() == [90, 90, 90]
    assert A.labels is None and B.labels is None
    test = unpaired.load_unpaired(DataConfig(source=str(layout), size=8), split="test")
    assert len(test["A"]) == 2 and len(test["B"]) == 1
    assert test["A"].images[0, :, 0, 0].tolist() == [10, 200, 10]


def test_channels_limit_and_explicit_domains(layout, tmp_path):
    gray = unpaired.load_unpaired(DataConfig(source=str(layout), size=8, channels=1, limit=2))
    assert gray["A"].images.shape == (2, 1, 8, 8) and gray["B"].images.shape == (2, 1, 8, 8)
    other = write_images(tmp_path / "blue", 5, (0, 0, 255))
    domains = unpaired.load_unpaired(DataConfig(source="ignored", size=8), str(layout / "trainB"), str(other))
    assert len(domains["A"]) == 4 and len(domains["B"]) == 5
    assert domains["B"].images[0, :, 0, 0].tolist() == [0, 0, 255]
    builtin = unpaired.load_unpaired(DataConfig(size=8, limit=20), "digits", str(other))
    assert builtin["A"].images.shape == (20, 3, 8, 8) and builtin["A"].num_classes == 10  # labels kept


def test_domains_come_in_a_fixed_shuffled_order(tmp_path):
    """Previews show a domain's first images: a class-sorted set must not show one class only."""
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(12):
            Image.new("L", (8, 8), 20 * i).save(tmp_path / name / f"{i:02d}.png")
    cfg = DataConfig(size=8)
    first = unpaired.load_unpaired(cfg, str(tmp_path / "a"), str(tmp_path / "b"))
    again = unpaired.load_unpaired(cfg, str(tmp_path / "a"), str(tmp_path / "b"))
    values = first["A"].images[:, 0, 0, 0].tolist()
    assert sorted(values) == [20 * i for i in range(12)] and values != sorted(values)
    assert values == again["A"].images[:, 0, 0, 0].tolist()


@pytest.mark.parametrize(
    "source, a, b, message",
    [
        ("mnist-5k", None, None, "needs two domains: --data-a and --data-b"),
        ("x", "digits", None, "--data-a needs --data-b too"),
        ("x", None, "digits", "--data-b needs --data-a too"),
    ],
)
def test_missing_domains_say_what_to_give(source, a, b, message):
    with pytest.raises(DataError, match=message):
        unpaired.load_unpaired(DataConfig(source=source, size=8), a, b)


def test_a_folder_without_the_layout_names_it(tmp_path):
    write_images(tmp_path / "flat", 2, (1, 2, 3))
    with pytest.raises(DataError, match=r"has no trainA/ and trainB/ subfolders"):
        unpaired.load_unpaired(DataConfig(source=str(tmp_path / "flat"), size=8))
    with pytest.raises(DataError, match="split must be one of"):
        unpaired.domain_sources(str(tmp_path), None, None, split="val")


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def png(color) -> bytes:
    import io

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_cyclegan_set_by_name_is_downloaded_checked_and_extracted(monkeypatch, isolated_cache, tmp_path):
    archive = make_zip(
        tmp_path / "served.zip",
        {
            "horse2zebra/trainA/h1.jpg": png((120, 80, 40)),
            "horse2zebra/trainA/h2.jpg": png((120, 80, 40)),
            "horse2zebra/trainB/z1.jpg": png((250, 250, 250)),
            "horse2zebra/testA/h3.jpg": png((120, 80, 40)),
            "horse2zebra/testB/z2.jpg": png((250, 250, 250)),
        },
    )
    calls = []

    def fake_download(urls, dest, sha256, progress=None):
        calls.append((list(urls), Path(dest), sha256))
        Path(dest).parent.mkdir(parents=True, exist_ok=True)
        Path(dest).write_bytes(archive.read_bytes())
        return Path(dest)

    monkeypatch.setattr(unpaired, "download", fake_download)
    domains = unpaired.load_unpaired(DataConfig(source="horse2zebra", size=8))
    assert len(domains["A"]) == 2 and len(domains["B"]) == 1
    assert domains["B"].images[0, :, 0, 0].tolist() == [250, 250, 250]
    ((urls, dest, sha256),) = calls
    assert urls == [m + "horse2zebra.zip" for m in unpaired.MIRRORS]
    assert sha256 == "a74d9d392eecca9966b51287a76ca126af473d9de4f3e8fc0e9cda08fa1730a1"  # pinned
    folder = isolated_cache / "cyclegan" / "horse2zebra"
    assert sorted(p.name for p in folder.iterdir()) == ["testA", "testB", "trainA", "trainB"]
    assert not dest.exists()  # the zip is removed once extracted
    unpaired.load_unpaired(DataConfig(source="horse2zebra", size=8), split="test")
    assert len(calls) == 1  # the second use reads the cache


def test_offline_download_failure_is_a_data_error(monkeypatch, isolated_cache):
    def offline(urls, dest, sha256, progress=None):
        raise DataError(
            f"could not reach {urls[0]}; download {Path(dest).name} yourself and put it at {dest}"
        )

    monkeypatch.setattr(unpaired, "download", offline)
    with pytest.raises(DataError, match="monet2photo.zip yourself"):
        unpaired.load_unpaired(DataConfig(source="monet2photo", size=8))


def test_unsafe_or_wrong_archives_are_refused(tmp_path):
    evil = make_zip(tmp_path / "evil.zip", {"../../escaped.png": png((0, 0, 0)), "x/trainA/a.png": b""})
    target = tmp_path / "sets" / "evil"
    with pytest.raises(DataError, match="unsafe path"):
        unpaired.extract_domains(evil, target)
    assert not (tmp_path / "escaped.png").exists() and not target.exists()
    flat = make_zip(tmp_path / "flat.zip", {"images/a.png": png((0, 0, 0))})
    with pytest.raises(DataError, match="has no trainA/ and trainB/"):
        unpaired.extract_domains(flat, target)
    assert not target.exists() and not list((tmp_path / "sets").glob(".evil.*"))
    garbage = tmp_path / "garbage.zip"
    garbage.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a valid zip file"):
        unpaired.extract_domains(garbage, target)


def test_every_known_set_has_a_sha256_and_size():
    assert {"horse2zebra", "monet2photo", "summer2winter_yosemite"} <= set(unpaired.CYCLEGAN_SETS)
    for sha256, size in unpaired.CYCLEGAN_SETS.values():
        assert len(sha256) == 64 and int(sha256, 16) >= 0 and size > 10_000_000
