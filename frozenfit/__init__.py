"""frozenfit: fit small networks around large frozen pretrained networks (Task Tokens, NeRN)."""

from frozenfit.errors import FrozenfitError

__version__ = "0.1.0"
__all__ = ["FrozenfitError", "__version__"]
