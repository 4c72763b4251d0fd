"""One file per family. Importing this package registers every recipe."""

from ganforge.recipes import cyclegan, dtn, fastgan, gan, pix2pix, progan, sgan, srgan, stylegan  # noqa: F401
