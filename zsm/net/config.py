"""The network's size, as a dataclass with named presets.

Book: chapter 7 (the full model); the notation page defines the letters.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class ZSMConfig:
    """Hyper-parameters of :class:`zsm.ZoomingSlowMo`.

    Args:
        channels: C, feature channels everywhere at LR resolution. Paper: 64.
        groups: G, deformable groups of every deformable convolution; must divide ``channels``. Paper: 8.
        extraction_blocks: residual blocks in the feature extractor. Paper: 5.
        reconstruction_blocks: residual blocks before upsampling. Paper: 40.
        hr_channels: channels of the last two convolutions at HR resolution. Paper: 64.
        scale: s, the spatial upscaling factor; the reconstruction is two x2 pixel shuffles, so only 4.
        global_skip: NOT in the paper (which has no skip from the input). When True, the network predicts a
            correction to a cheap guess, every input frame bicubic-upscaled and each missing frame the mean of
            its neighbours' guesses, and its last convolution starts at zero, so training starts from that guess.
            It lets a small network trained for minutes on a CPU start where bicubic is; the paper preset keeps
            it off and computes the authors' function exactly.
        time_modulation: NOT in the paper (after TMNet, Xu et al. 2021; book chapter 8). When True, the feature
            temporal interpolation is conditioned on the time t between two input frames, so the network makes
            any moments between them (``model(x, times=(0.25, 0.5, 0.75))``), not only the one half-way. Its
            modulations are zero at t = 0.5, where the network computes the function of Zooming Slow-Mo. Off in
            every preset.
    """

    channels: int = 64
    groups: int = 8
    extraction_blocks: int = 5
    reconstruction_blocks: int = 40
    hr_channels: int = 64
    scale: int = 4
    global_skip: bool = False
    time_modulation: bool = False

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type in (bool, "bool"):
                if not isinstance(value, bool):
                    raise TypeError(f"ZSMConfig.{f.name} must be a bool, got {value!r}")
            elif not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"ZSMConfig.{f.name} must be an int, got {value!r}")
        for name in ("channels", "groups", "hr_channels"):
            if getattr(self, name) < 1:
                raise ValueError(f"ZSMConfig.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("extraction_blocks", "reconstruction_blocks"):
            if getattr(self, name) < 0:
                raise ValueError(f"ZSMConfig.{name} must be >= 0, got {getattr(self, name)}")
        if self.channels % self.groups:
            raise ValueError(f"ZSMConfig.groups ({self.groups}) must divide channels ({self.channels})")
        if self.scale != 4:
            raise ValueError(f"ZSMConfig.scale must be 4 (two x2 pixel shuffles), got {self.scale}")

    @classmethod
    def paper(cls) -> "ZSMConfig":
        """The published network: C=64, G=8, 5 + 40 residual blocks, scale 4 (11,102,771 parameters)."""
        return cls()

    @classmethod
    def tiny(cls) -> "ZSMConfig":
        """A small network for tests and the book's CPU chapters: C=8, G=2, 1 + 2 blocks, 8 HR channels.

        Every stage of the paper network is there; only widths and depths shrink (162,095 parameters).
        """
        return cls(channels=8, groups=2, extraction_blocks=1, reconstruction_blocks=2, hr_channels=8)

    @classmethod
    def tiny_skip(cls) -> "ZSMConfig":
        """:meth:`tiny` with ``global_skip=True``: the preset of the model trained on this project's CPU."""
        return cls(channels=8, groups=2, extraction_blocks=1, reconstruction_blocks=2, hr_channels=8, global_skip=True)

    @classmethod
    def preset(cls, name: str) -> "ZSMConfig":
        """The config of a named preset, one of :data:`PRESETS` ("paper", "tiny", "tiny_skip")."""
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; presets are {', '.join(PRESETS)}")
        return getattr(cls, name)()

    def with_fields(self, text: str) -> "ZSMConfig":
        """This config with the fields of ``"channels=32,groups=4,global_skip=true"`` replaced (checked as a new
        config is), e.g. for ``python -m zsm train --model ...``.

        Raises:
            ValueError: not FIELD=VALUE pairs, an unknown field, a value of the wrong kind, or an invalid config.
        """
        values = self.to_dict()
        for item in text.split(","):
            key, sep, value = (part.strip() for part in item.partition("="))
            if not sep or key not in values:
                raise ValueError(f"expected FIELD=VALUE pairs separated by commas, FIELD one of {sorted(values)}; "
                                 f"got {item!r}")
            if isinstance(values[key], bool):
                if value.lower() not in ("true", "false", "1", "0"):
                    raise ValueError(f"{key} must be true or false, got {value!r}")
                values[key] = value.lower() in ("true", "1")
            else:
                try:
                    values[key] = int(value)
                except ValueError:
                    raise ValueError(f"{key} must be a whole number, got {value!r}") from None
        return type(self).from_dict(values)

    def to_dict(self) -> dict:
        """The config as a plain dict (what checkpoints store)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "ZSMConfig":
        """Build a config from :meth:`to_dict`'s output; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown ZSMConfig fields {unknown}; known fields are {sorted(known)}")
        return cls(**values)


PRESETS = ("paper", "tiny", "tiny_skip")  # the names ZSMConfig.preset() takes, each a classmethod above
