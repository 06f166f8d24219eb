"""Model zoo (timm-style registry), shipped trained models, and loading user models."""

from ohq.models import alexnet, mobilenet_v2, mobilenet_v3, resnet, small_cnn  # noqa: F401  (registers)
from ohq.models._registry import MODELS, create_model, list_models, register_model
from ohq.models.loading import LoadedModel, load_model, load_weights
from ohq.models.shipped import SHIPPED, build_shipped, list_shipped

__all__ = [
    "MODELS",
    "SHIPPED",
    "LoadedModel",
    "build_shipped",
    "create_model",
    "list_models",
    "list_shipped",
    "load_model",
    "load_weights",
    "register_model",
]
