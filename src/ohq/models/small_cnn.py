"""A small BatchNorm CNN for 8x8 (scikit-learn digits) and 28x28 (MNIST) inputs.

Three 3x3 conv-BN-ReLU stages (16, 32/2, 64/2 channels), one more 64-channel conv at the
lowest resolution, global average pooling and a linear head: no layer depends on the input
size, so one architecture serves both data sets.
"""

from __future__ import annotations

from torch import Tensor, nn

from ohq.models._blocks import ConvBNAct, check_positive, init_weights
from ohq.models._registry import register_model


class SmallCNN(nn.Module):
    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        check_positive("SmallCNN", num_classes=num_classes, in_channels=in_channels)
        self.features = nn.Sequential(
            ConvBNAct(in_channels, 16, 3),
            ConvBNAct(16, 32, 3, stride=2),
            ConvBNAct(32, 64, 3, stride=2),
            ConvBNAct(64, 64, 3),
        )
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.fc = nn.Linear(64, num_classes)
        init_weights(self)
        # The default init (N(0, 0.01)) is for 1000-way heads; 10-way trains faster from PyTorch's.
        self.fc.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.flatten(self.avgpool(self.features(x))))


@register_model("small_cnn")
def small_cnn(num_classes: int = 10, in_channels: int = 1) -> SmallCNN:
    """SmallCNN: 61,050 parameters and 3.7 MMACs at 10 classes, 1x28x28."""
    return SmallCNN(num_classes=num_classes, in_channels=in_channels)
