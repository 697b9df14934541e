"""Frames in and out, and the clips to learn and score on; nothing here knows the network.

    video     read and write video files (OpenCV), safely; and read any source, file or frame folder, in chunks
    frames    read and write folders of frames (images in natural order; lossless PNGs out)
    opencv    OpenCV imported once, its C-level output kept back, frames checked before writing
    resize    MATLAB-style bicubic resizing, the paper's way to make LR frames
    footage   three real clips fetched from a pinned PyPI wheel, and reading (part of) any clip
    stills    photographs (public domain, CC0) from a pinned PyPI wheel, for synthetic motion
    datasets  the Vimeo-90K and Vid4 layouts, and the paper's LR/HR pairs

Book: chapters 0, 6 and 7.
"""
from .datasets import load_vid4, load_vimeo_septuplet, make_pair, vid4_clips, vimeo_septuplets
from .footage import FOOTAGE, data_dir, fetch_footage, load_clip
from .stills import STILLS, fetch_stills, load_stills

__all__ = ["FOOTAGE", "data_dir", "fetch_footage", "load_clip", "make_pair", "vimeo_septuplets", "load_vimeo_septuplet",
           "vid4_clips", "load_vid4", "STILLS", "fetch_stills", "load_stills"]
