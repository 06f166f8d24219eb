"""ResNet-18/50 (He et al. 2016, torchvision's v1.5: stride on the 3x3 of the bottleneck).

Same module names and parameter counts as torchvision. `small_input=True` swaps the 7x7/2 stem
and max-pool for a 3x3/1 stem (the CIFAR recipe), so 28-32 px inputs reach layer4 at 4x4.
"""

from __future__ import annotations

from torch import Tensor, nn

from ohq.models._blocks import check_positive, init_weights
from ohq.models._registry import register_model


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(
        self, in_channels: int, planes: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.conv1 = conv3x3(in_channels, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        # One activation module per call site (torchvision shares one): the quantizer keeps one
        # set of activation statistics per module. Not in-place, so hooks that cache a layer's
        # output see it unmodified.
        self.relu1 = nn.ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.relu2 = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out = out + identity
        return self.relu2(out)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(
        self, in_channels: int, planes: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        out_channels = planes * self.expansion
        self.conv1 = conv1x1(in_channels, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU()
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu2 = nn.ReLU()
        self.conv3 = conv1x1(planes, out_channels)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.downsample = downsample
        self.relu3 = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out = out + identity
        return self.relu3(out)


class ResNet(nn.Module):
    """ResNet with four stages of `layers[i]` blocks at widths `width * (1, 2, 4, 8)`."""

    def __init__(
        self,
        block: type[BasicBlock | Bottleneck],
        layers: tuple[int, int, int, int],
        num_classes: int = 1000,
        in_channels: int = 3,
        small_input: bool = False,
        width: int = 64,
    ) -> None:
        super().__init__()
        check_positive("ResNet", num_classes=num_classes, in_channels=in_channels, width=width)
        self.in_planes = width
        if small_input:
            self.conv1 = nn.Conv2d(in_channels, width, 3, 1, padding=1, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_channels, width, 7, 2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        # Identity keeps the attribute (and fx graph shape) the same in both stems.
        self.maxpool = nn.Identity() if small_input else nn.MaxPool2d(3, 2, padding=1)
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, width * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.fc = nn.Linear(width * 8 * block.expansion, num_classes)
        init_weights(self)

    def _make_layer(
        self, block: type[BasicBlock | Bottleneck], planes: int, blocks: int, stride: int = 1
    ) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.in_planes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.in_planes, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.in_planes, planes, stride, downsample)]
        self.in_planes = planes * block.expansion
        layers += [block(self.in_planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.flatten(self.avgpool(x)))


def _resnet(
    block: type[BasicBlock | Bottleneck], layers: tuple[int, int, int, int], **kwargs
) -> ResNet:
    return ResNet(block, layers, **kwargs)


@register_model("resnet18")
def resnet18(
    num_classes: int = 1000, in_channels: int = 3, small_input: bool = False, width: int = 64
) -> ResNet:
    """ResNet-18: 11,689,512 parameters and 1.814 GMACs at 1000 classes, 224 px."""
    return _resnet(
        BasicBlock,
        (2, 2, 2, 2),
        num_classes=num_classes,
        in_channels=in_channels,
        small_input=small_input,
        width=width,
    )


@register_model("resnet50")
def resnet50(
    num_classes: int = 1000, in_channels: int = 3, small_input: bool = False, width: int = 64
) -> ResNet:
    """ResNet-50: 25,557,032 parameters and 4.09 GMACs at 1000 classes, 224 px."""
    return _resnet(
        Bottleneck,
        (3, 4, 6, 3),
        num_classes=num_classes,
        in_channels=in_channels,
        small_input=small_input,
        width=width,
    )
