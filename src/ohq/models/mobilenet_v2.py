"""MobileNetV2 (Sandler et al. 2018), laid out and named as torchvision's.

`small_input=True` runs the stem and the first stride-2 stage (24 channels) at stride 1, so a
28 px input is downsampled 8x in total (28 → 14 → 7 → 4) instead of 32x.
"""

from __future__ import annotations

from torch import Tensor, nn

from ohq.models._blocks import ConvBNAct, check_positive, init_weights, make_divisible
from ohq.models._registry import register_model

# expansion t, output channels c, repeats n, first stride s (Table 2 of the paper).
_SETTING: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


class InvertedResidual(nn.Module):
    """1x1 expand → 3x3 depthwise → 1x1 linear projection, with a skip when shapes match."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = int(round(in_channels * expand_ratio))
        self.use_res_connect = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNAct(in_channels, hidden, 1, act_layer=nn.ReLU6))
        layers += [
            ConvBNAct(hidden, hidden, 3, stride, groups=hidden, act_layer=nn.ReLU6),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        # use_res_connect is fixed at construction, so fx traces a static graph.
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(
        self,
        num_classes: int = 1000,
        in_channels: int = 3,
        small_input: bool = False,
        width_mult: float = 1.0,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        check_positive(
            "MobileNetV2", num_classes=num_classes, in_channels=in_channels, width_mult=width_mult
        )
        channels = make_divisible(32 * width_mult)
        # The head never narrows below 1280 (torchvision: last_channel * max(1, width_mult)).
        self.last_channel = make_divisible(1280 * max(1.0, width_mult))
        features: list[nn.Module] = [
            ConvBNAct(in_channels, channels, 3, 1 if small_input else 2, act_layer=nn.ReLU6)
        ]
        for stage, (t, c, n, s) in enumerate(_SETTING):
            out_channels = make_divisible(c * width_mult)
            if small_input and stage == 1:
                s = 1
            for i in range(n):
                features.append(InvertedResidual(channels, out_channels, s if i == 0 else 1, t))
                channels = out_channels
        features.append(ConvBNAct(channels, self.last_channel, 1, act_layer=nn.ReLU6))
        self.features = nn.Sequential(*features)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(self.last_channel, num_classes)
        )
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.flatten(self.avgpool(self.features(x))))


@register_model("mobilenet_v2")
def mobilenet_v2(
    num_classes: int = 1000,
    in_channels: int = 3,
    small_input: bool = False,
    width_mult: float = 1.0,
) -> MobileNetV2:
    """MobileNetV2: 3,504,872 parameters and 0.30 GMACs at 1000 classes, 224 px."""
    return MobileNetV2(
        num_classes=num_classes,
        in_channels=in_channels,
        small_input=small_input,
        width_mult=width_mult,
    )
