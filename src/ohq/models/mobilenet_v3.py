"""MobileNetV3-Large (Howard et al. 2019), laid out and named as torchvision's.

BatchNorm uses eps=1e-3, momentum=0.01 as in torchvision. `small_input=True` runs the stem and
the first stride-2 block at stride 1, so a 28 px input is downsampled 8x (28 → 14 → 7 → 4).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from ohq.models._blocks import (
    ConvBNAct,
    SqueezeExcitation,
    check_positive,
    init_weights,
    make_divisible,
)
from ohq.models._registry import register_model

_BN = {"bn_eps": 1e-3, "bn_momentum": 0.01}


@dataclass(frozen=True)
class BlockConfig:
    in_channels: int
    kernel: int
    expanded: int
    out_channels: int
    use_se: bool
    use_hs: bool  # Hardswish, else ReLU
    stride: int

    def scaled(self, width_mult: float, stride: int) -> BlockConfig:
        def ch(c: int) -> int:
            return make_divisible(c * width_mult)

        return BlockConfig(
            ch(self.in_channels),
            self.kernel,
            ch(self.expanded),
            ch(self.out_channels),
            self.use_se,
            self.use_hs,
            stride,
        )


# Table 1 of the paper (torchvision's `_mobilenet_v3_conf("mobilenet_v3_large")`).
_LARGE: tuple[BlockConfig, ...] = (
    BlockConfig(16, 3, 16, 16, False, False, 1),
    BlockConfig(16, 3, 64, 24, False, False, 2),
    BlockConfig(24, 3, 72, 24, False, False, 1),
    BlockConfig(24, 5, 72, 40, True, False, 2),
    BlockConfig(40, 5, 120, 40, True, False, 1),
    BlockConfig(40, 5, 120, 40, True, False, 1),
    BlockConfig(40, 3, 240, 80, False, True, 2),
    BlockConfig(80, 3, 200, 80, False, True, 1),
    BlockConfig(80, 3, 184, 80, False, True, 1),
    BlockConfig(80, 3, 184, 80, False, True, 1),
    BlockConfig(80, 3, 480, 112, True, True, 1),
    BlockConfig(112, 3, 672, 112, True, True, 1),
    BlockConfig(112, 5, 672, 160, True, True, 2),
    BlockConfig(160, 5, 960, 160, True, True, 1),
    BlockConfig(160, 5, 960, 160, True, True, 1),
)
_LARGE_LAST_CHANNEL = 1280


class InvertedResidual(nn.Module):
    """Optional 1x1 expand → kxk depthwise → optional SE → 1x1 linear projection (+ skip)."""

    def __init__(self, cfg: BlockConfig) -> None:
        super().__init__()
        act = nn.Hardswish if cfg.use_hs else nn.ReLU
        self.use_res_connect = cfg.stride == 1 and cfg.in_channels == cfg.out_channels
        layers: list[nn.Module] = []
        if cfg.expanded != cfg.in_channels:
            layers.append(ConvBNAct(cfg.in_channels, cfg.expanded, 1, act_layer=act, **_BN))
        layers.append(
            ConvBNAct(
                cfg.expanded,
                cfg.expanded,
                cfg.kernel,
                cfg.stride,
                groups=cfg.expanded,
                act_layer=act,
                **_BN,
            )
        )
        if cfg.use_se:
            layers.append(SqueezeExcitation(cfg.expanded, make_divisible(cfg.expanded // 4)))
        layers.append(ConvBNAct(cfg.expanded, cfg.out_channels, 1, act_layer=None, **_BN))
        self.block = nn.Sequential(*layers)
        self.out_channels = cfg.out_channels

    def forward(self, x: Tensor) -> Tensor:
        out = self.block(x)
        if self.use_res_connect:  # fixed at construction: fx traces a static graph
            out = out + x
        return out


class MobileNetV3(nn.Module):
    def __init__(
        self,
        setting: tuple[BlockConfig, ...],
        last_channel: int,
        num_classes: int = 1000,
        in_channels: int = 3,
        small_input: bool = False,
        width_mult: float = 1.0,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        check_positive(
            "MobileNetV3", num_classes=num_classes, in_channels=in_channels, width_mult=width_mult
        )
        blocks, first_strided = [], True
        for cfg in setting:
            stride = cfg.stride
            if small_input and stride == 2 and first_strided:
                stride, first_strided = 1, False
            blocks.append(cfg.scaled(width_mult, stride))
        layers: list[nn.Module] = [
            ConvBNAct(
                in_channels,
                blocks[0].in_channels,
                3,
                1 if small_input else 2,
                act_layer=nn.Hardswish,
                **_BN,
            )
        ]
        layers += [InvertedResidual(cfg) for cfg in blocks]
        lastconv = 6 * blocks[-1].out_channels
        layers.append(
            ConvBNAct(blocks[-1].out_channels, lastconv, 1, act_layer=nn.Hardswish, **_BN)
        )
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        head = make_divisible(last_channel * width_mult)
        self.classifier = nn.Sequential(
            nn.Linear(lastconv, head),
            nn.Hardswish(),
            nn.Dropout(dropout),
            nn.Linear(head, num_classes),
        )
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.flatten(self.avgpool(self.features(x))))


@register_model("mobilenet_v3_large")
def mobilenet_v3_large(
    num_classes: int = 1000,
    in_channels: int = 3,
    small_input: bool = False,
    width_mult: float = 1.0,
) -> MobileNetV3:
    """MobileNetV3-Large: 5,483,032 parameters and 0.22 GMACs at 1000 classes, 224 px."""
    return MobileNetV3(
        _LARGE,
        _LARGE_LAST_CHANNEL,
        num_classes=num_classes,
        in_channels=in_channels,
        small_input=small_input,
        width_mult=width_mult,
    )
