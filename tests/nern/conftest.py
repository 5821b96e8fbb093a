import pytest
import torch

from frozenfit.nern.data import load_digits
from frozenfit.nern.models import CifarResNet
from frozenfit.nern.original import save_original


@pytest.fixture(scope="session")
def digits():
    return load_digits()


@pytest.fixture()
def tiny_original(tmp_path):
    """An (untrained) ResNet-20 on digits saved as an original checkpoint."""
    torch.manual_seed(0)
    model = CifarResNet(20, num_classes=10, in_channels=1).eval()
    path = tmp_path / "orig.safetensors"
    save_original(path, model, {"model": "resnet20", "num_classes": 10, "in_channels": 1,
                                "dataset": "digits", "image_size": 8})
    return path, model
