"""AlexNet (Krizhevsky et al. 2012) as torchvision builds it (one tower, 64-192-384-256-256).

`small_input=True` replaces the 11x11/4 stem with a 3x3/1 one, uses 2x2/2 max-pools and pools
the features globally, so 28-32 px inputs work (28 → 14 → 7 → 3) and the classifier stays small.
"""

from __future__ import annotations

from torch import Tensor, nn

from ohq.models._blocks import check_positive
from ohq.models._registry import register_model


class AlexNet(nn.Module):
    def __init__(
        self,
        num_classes: int = 1000,
        in_channels: int = 3,
        small_input: bool = False,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        check_positive("AlexNet", num_classes=num_classes, in_channels=in_channels)
        if small_input:
            stem = nn.Conv2d(in_channels, 64, 3, 1, padding=1)
            pool: tuple[int, int] = (2, 2)
            pooled = (1, 1)
        else:
            stem = nn.Conv2d(in_channels, 64, 11, 4, padding=2)
            pool = (3, 2)
            pooled = (6, 6)
        self.features = nn.Sequential(
            stem,
            nn.ReLU(),
            nn.MaxPool2d(*pool),
            nn.Conv2d(64, 192, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(*pool),
            nn.Conv2d(192, 384, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(256, 256, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(*pool),
        )
        self.avgpool = nn.AdaptiveAvgPool2d(pooled)
        self.flatten = nn.Flatten(1)
        self.classifier = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(256 * pooled[0] * pooled[1], 4096),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.flatten(self.avgpool(self.features(x))))


@register_model("alexnet")
def alexnet(num_classes: int = 1000, in_channels: int = 3, small_input: bool = False) -> AlexNet:
    """AlexNet: 61,100,840 parameters and 0.714 GMACs at 1000 classes, 224 px."""
    return AlexNet(num_classes=num_classes, in_channels=in_channels, small_input=small_input)
