"""Uploads against a real server: results of the image-to-image routes, bad uploads refused with a
4xx JSON error (the server keeps serving), static files only by exact name, loopback by default."""

import io
import socket
import struct
import subprocess
import sys
import time
import zlib

import httpx
import pytest
import torch
from PIL import Image

from ganforge.cli.app import main
from ganforge.studio.app import static_files
from ganforge.studio.server import is_loopback
from studio.conftest import pattern, png_of


def result_of(r: httpx.Response) -> Image.Image:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    return Image.open(io.BytesIO(r.content)).convert("RGB")


def rgb(image: Image.Image) -> torch.Tensor:
    return torch.tensor(list(image.getdata()), dtype=torch.int16)  # (H*W, 3)


def translate(client, data: bytes, content_type: str = "image/png", **form) -> httpx.Response:
    return client.post("/api/translate", files={"image": ("upload.png", data, content_type)}, data=form)


def bomb_png(width: int, height: int) -> bytes:
    """A small, valid-looking PNG whose header declares width x height pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def test_translate_both_directions_exactly(client):
    picture = pattern(12, 10)
    inverted = result_of(translate(client, png_of(picture), model="invert", direction="AtoB"))
    assert inverted.size == (12, 10)
    assert torch.equal(rgb(inverted), 255 - rgb(picture))
    copied = result_of(translate(client, png_of(picture), model="invert", direction="BtoA"))
    assert torch.equal(rgb(copied), rgb(picture))
    assert torch.equal(
        rgb(result_of(translate(client, png_of(picture)))), 255 - rgb(picture)
    )  # default: AtoB
    # a larger picture goes through in tiles and still comes back exact
    big = pattern(100, 90)
    assert torch.equal(rgb(result_of(translate(client, png_of(big)))), 255 - rgb(big))
    r = translate(client, png_of(picture), model="invert", direction="sideways")
    assert r.status_code == 400 and "translates AtoB, BtoA" in r.json()["error"]


def test_formats_are_sniffed_from_the_bytes_not_the_header(client):
    picture = pattern(12, 10)
    as_text = translate(client, png_of(picture), content_type="text/plain")
    assert torch.equal(rgb(result_of(as_text)), 255 - rgb(picture))
    for fmt in ("JPEG", "WEBP", "BMP", "GIF"):
        out = result_of(translate(client, png_of(picture, fmt), content_type="image/png"))
        assert out.size == (12, 10), fmt
    gray = Image.new("L", (6, 4), 100)
    assert set(result_of(translate(client, png_of(gray))).getdata()) == {(155, 155, 155)}
    clear = Image.new("RGBA", (6, 4), (0, 0, 0, 0))  # transparent shows as white, as in a browser
    assert set(result_of(translate(client, png_of(clear))).getdata()) == {(0, 0, 0)}


def test_upscale_and_inpaint(client):
    picture = pattern(12, 10)
    up = result_of(client.post("/api/upscale", files={"image": ("a.png", png_of(picture))}))
    assert up.size == (24, 20) and up.getpixel((3, 3)) == tuple(255 - v for v in picture.getpixel((1, 1)))
    mask = Image.new("L", (12, 10), 0)
    mask.paste(255, (2, 3, 6, 7))  # a 4x4 hole
    filled = result_of(
        client.post(
            "/api/inpaint", files={"image": ("a.png", png_of(picture)), "mask": ("m.png", png_of(mask))}
        )
    )
    hole = torch.tensor(list(mask.getdata())) > 127
    assert (rgb(filled)[hole] == 255).all() and torch.equal(rgb(filled)[~hole], rgb(picture)[~hole])
    wrong = Image.new("L", (5, 5), 255)
    r = client.post(
        "/api/inpaint", files={"image": ("a.png", png_of(picture)), "mask": ("m.png", png_of(wrong))}
    )
    assert r.status_code == 400 and "the mask is 5x5 but the image is 12x10" in r.json()["error"]
    r = client.post("/api/inpaint", files={"image": ("a.png", png_of(picture))})
    assert r.status_code == 422 and "mask" in r.json()["error"]


def tiff() -> bytes:
    return png_of(pattern(12, 10), "TIFF")


def chunked(data: bytes):
    for start in range(0, len(data), 16384):
        yield data[start : start + 16384]


@pytest.mark.parametrize(
    "case, status, message",
    [
        ("text", 415, "the image upload is not an image; send a PNG, JPEG, WebP, BMP or GIF file"),
        ("empty", 400, "the image upload is empty"),
        ("truncated", 400, "the image is truncated or corrupt"),
        ("tiff", 415, "the image is a TIFF file, which the studio does not take"),
        ("too many pixels", 413, "the image is 200x100 = 20,000 pixels; the studio takes at most 16,384"),
        ("bomb", 413, "the image declares far too many pixels (a decompression bomb?)"),
        ("large header", 413, "the image is 5000x5000 = 25,000,000 pixels"),
        ("too many bytes", 413, "over the studio's limit of 0.2 MB"),
        ("too many bytes, chunked", 413, "over the studio's limit of 0.2 MB"),
        ("no file", 422, "invalid request: image: Field required"),
        ("no model can", 400, "model 'digits' cannot translate; models that can: invert"),
    ],
)
def test_bad_uploads_get_4xx_and_the_server_keeps_serving(client, case, status, message):
    good = png_of(pattern(30, 30))
    noise = bytes(torch.randint(0, 256, (250_000,), generator=torch.Generator().manual_seed(0)).tolist())
    if case == "too many bytes, chunked":
        body = b'--x\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n' + noise
        r = client.post(
            "/api/translate",
            content=chunked(body),
            headers={"content-type": "multipart/form-data; boundary=x"},
        )
        assert "content-length" not in r.request.headers
    elif case == "no file":
        r = client.post("/api/translate", data={"model": "invert"})
    elif case == "no model can":
        r = translate(client, good, model="digits")
    else:
        data = {
            "text": b"hello, I am not a picture",
            "empty": b"",
            "truncated": good[: len(good) // 2],
            "tiff": tiff(),
            "too many pixels": png_of(Image.new("RGB", (200, 100))),
            "bomb": bomb_png(100_000, 100_000),
            "large header": bomb_png(5000, 5000),
            "too many bytes": noise,
        }[case]
        r = translate(client, data)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    assert message in r.json()["error"]
    assert result_of(translate(client, good)).size == (30, 30)  # and the next request is served


def raw_get(server, target: str) -> tuple[int, bytes]:
    """A GET with the target sent byte for byte: no client-side normalization of '..'."""
    with socket.create_connection((server.host, server.port), timeout=10) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1]), data


@pytest.mark.parametrize(
    "target",
    [
        "/static/../pyproject.toml",
        "/static/..%2f..%2fpyproject.toml",
        "/static/%2e%2e/%2e%2e/etc/passwd",
        "/static/..%5c..%5capp.py",
        "/static/%2e%2e",
        "/static//etc/passwd",
        "/static/app.py",
        "/../../../etc/passwd",
        "/api/../../etc/hostname",
        "/static/.%2e/studio/app.py",
    ],
)
def test_path_traversal_gets_404(server, target):
    status, data = raw_get(server, target)
    assert status == 404, data[:200]
    assert b"root:" not in data and b"[project]" not in data and b"import" not in data


def test_static_files_are_the_packaged_ones(client):
    files = static_files()
    assert {"index.html", "app.js", "breed.js", "common.js", "tools.js", "style.css"} <= set(files)
    for name, (body, media) in files.items():
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and r.content == body and r.headers["content-type"] == media
    page = client.get("/")
    assert page.content == files["index.html"][0]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert b"http://" not in page.content and b"https://" not in page.content  # nothing from elsewhere
    for name in ("app.js", "breed.js", "common.js", "tools.js", "style.css"):
        assert b"http://" not in files[name][0] and b"https://" not in files[name][0]


def test_cli_serve_binds_loopback_and_reports_bad_models(bundles, tmp_path, capsys):
    assert is_loopback("127.0.0.1") and is_loopback("::1") and not is_loopback("0.0.0.0")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ganforge",
            "serve",
            str(bundles["digits"]),
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/models", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert [m["name"] for m in r.json()["models"]] == ["digits"]
        listening = _listeners(port)  # on loopback only
        assert listening == ["127.0.0.1"], listening
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert f"ganforge studio: http://127.0.0.1:{port}/" in err
    with pytest.raises(SystemExit) as exit_info:  # the real entry point, in process: one error line
        main(["serve", str(tmp_path / "nope")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 1 and err.startswith("error:") and "nope does not exist" in err


def _listeners(port: int) -> list[str]:
    """Local addresses listening on `port`, from /proc/net/tcp (IPv4)."""
    found = []
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            host_hex, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:
                found.append(socket.inet_ntoa(bytes.fromhex(host_hex)[::-1]))
    return found


def test_serve_help_shows_examples_and_the_loopback_default():
    from typer.testing import CliRunner

    from ganforge.cli.app import app

    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0 and "Examples" in result.stdout and "ganforge serve runs/" in result.stdout
    assert "[default: 127.0.0.1]" in result.stdout and "[default: 7860]" in result.stdout
