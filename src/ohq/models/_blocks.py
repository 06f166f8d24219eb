"""Blocks shared by the zoo families: conv-BN-activation, squeeze-excitation, channel rounding.

Submodule names follow torchvision (`Conv2dNormActivation` indexes conv/BN/act as 0/1/2,
`SqueezeExcitation` has `fc1`/`fc2`) so state dicts line up with torchvision's.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from ohq.errors import OhqError


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round `value` to a multiple of `divisor`, never dropping more than 10% (MobileNet rule)."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


class ConvBNAct(nn.Sequential):
    """Conv2d (no bias: BN follows) → BatchNorm2d → optional activation module."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 1,
        act_layer: Callable[[], nn.Module] | None = nn.ReLU,
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride,
                padding=(kernel_size - 1) // 2,
                groups=groups,
                bias=False,
            ),
            nn.BatchNorm2d(out_channels, eps=bn_eps, momentum=bn_momentum),
        ]
        if act_layer is not None:
            layers.append(act_layer())
        super().__init__(*layers)
        self.out_channels = out_channels


class SqueezeExcitation(nn.Module):
    """Channel attention as in torchvision: pool → fc1 → ReLU → fc2 → Hardsigmoid → scale.

    Every step is a module so fx sees (and the quantizer can observe) each of them.
    """

    def __init__(self, channels: int, squeeze_channels: int) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.activation = nn.ReLU()
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.scale_activation = nn.Hardsigmoid()

    def forward(self, x: Tensor) -> Tensor:
        scale = self.avgpool(x)
        scale = self.activation(self.fc1(scale))
        scale = self.scale_activation(self.fc2(scale))
        return x * scale


def init_weights(model: nn.Module) -> None:
    """torchvision's initialisation: Kaiming (fan-out) convs, unit BN, small-normal linears."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)


def check_positive(name: str, **values: float) -> None:
    """Raise OhqError naming the argument when a size knob is not positive."""
    for key, value in values.items():
        if value <= 0:
            raise OhqError(f"{name}: {key} must be positive, got {value!r}")
