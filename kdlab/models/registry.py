"""A timm-style model registry: ``@register_model`` on factories, ``create_model(name, ...)``.

Usage::

    from kdlab.models import create_model, list_models
    net = create_model("resnet18_tiny", representation="mv", num_classes=101)
    logits = net(torch.randn(4, 3, 2, 64, 64))        # (B, T, C, H, W) -> (4, 101)

A factory has the signature ``fn(representation, num_classes, pretrained, <options>) -> TSNNet``, its
options as explicit keyword arguments (``width_mult``, ``layers``, ...), so that an unknown option is a
:class:`ConfigError` naming the valid ones.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from kdlab.errors import ConfigError
from kdlab.models.stems import TSNNet, check_representation

ModelFactory = Callable[..., TSNNet]

_MODELS: dict[str, ModelFactory] = {}


def register_model(fn: ModelFactory, name: str | None = None, doc: str | None = None) -> ModelFactory:
    """Decorator: register ``fn`` under its ``__name__``; a name can be registered once.

    ``name`` and ``doc``: the ``__name__`` and docstring to give ``fn`` first (factories made in a loop).
    """
    if name is not None:
        fn.__name__ = fn.__qualname__ = name
    if doc is not None:
        fn.__doc__ = doc
    name = fn.__name__
    if name in _MODELS:
        raise ValueError(f"model {name!r} is already registered")
    _MODELS[name] = fn
    return fn


def list_models() -> list[str]:
    """Sorted names of all registered models."""
    return sorted(_MODELS)


def create_model(
    name: str,
    representation: str = "iframe",
    num_classes: int = 1000,
    pretrained: bool | str = False,
    **kwargs: Any,
) -> TSNNet:
    """Build the registered model ``name`` for one representation (``iframe``, ``mv`` or ``residual``).

    ``pretrained`` is ``True`` for torchvision's ImageNet weights (downloaded or in torch's hub cache)
    or the path of a local file holding them. ``kwargs`` go to the factory (e.g. ``width_mult``, ``layers``, ``drop_rate``). The returned
    model's ``arch`` is ``name``. Unknown names or representations raise :class:`ConfigError`.
    """
    if name not in _MODELS:
        raise ConfigError(f"model={name!r} is unknown; valid choices: {', '.join(list_models())}")
    check_representation(representation)
    factory = _MODELS[name]
    fixed = ("representation", "num_classes", "pretrained")
    options = [p for p in inspect.signature(factory).parameters if p not in fixed]
    unknown = sorted(set(kwargs) - set(options))
    if unknown:
        raise ConfigError(f"model {name!r} has no option(s) {unknown}; valid options: {', '.join(options)}")
    model = factory(representation=representation, num_classes=num_classes, pretrained=pretrained, **kwargs)
    model.arch = name
    return model
