"""Model persistence: a directory holding ``config.json`` (class name + constructor arguments + versions) and
``weights.pt`` (a ``state_dict`` of tensors, read back with ``torch.load(weights_only=True)``).

Nothing is unpickled: a checkpoint can only rebuild classes registered with :func:`register_model`. The same registry
rebuilds the networks held by fitted estimators (:mod:`latentquant.base`).
"""

from __future__ import annotations

import functools
import inspect
import json
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn

from latentquant._io import atomic_write
from latentquant.exceptions import CheckpointError, ConfigError

__all__ = ["build_module", "load_model", "module_config", "register_model", "registered_models", "save_model"]

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.pt"
FORMAT_VERSION = 1
#: Most parameters a saved network may describe (400 MB of float32): a larger one is an edited or corrupt config.
MAX_PARAMETERS = 10**8

_MODELS: dict[str, type[nn.Module]] = {}
M = TypeVar("M", bound=type[nn.Module])


def register_model(cls: M) -> M:
    """Class decorator: make ``cls`` loadable by :func:`load_model` and by estimator persistence.

    A class with a ``get_config()`` method (JSON-serialisable constructor keyword arguments) is used as it is; for
    any other class the decorator records the arguments each instance was built with, which :func:`module_config`
    returns.

    Parameters
    ----------
    cls : type
        A :class:`torch.nn.Module` subclass whose name is unique among registered networks.

    Returns
    -------
    type
        ``cls`` itself.

    Raises
    ------
    CheckpointError
        Another class with the same name is registered.

    Examples
    --------
    >>> from torch import nn
    >>> @register_model
    ... class ScaledLinear(nn.Module):
    ...     def __init__(self, n_in, n_out, scale=1.0):
    ...         super().__init__()
    ...         self.linear = nn.Linear(n_in, n_out)
    ...         self.scale = scale
    ...     def forward(self, x):
    ...         return self.scale * self.linear(x)
    >>> module_config(ScaledLinear(3, 1, scale=2.0))  # the recorded constructor arguments
    ('ScaledLinear', {'n_in': 3, 'n_out': 1, 'scale': 2.0})
    >>> build_module("ScaledLinear", {"n_in": 3, "n_out": 1}).scale
    1.0
    """
    if cls.__name__ in _MODELS and _MODELS[cls.__name__] is not cls:
        raise CheckpointError(f"two network classes named {cls.__name__!r} are registered; rename one.")
    _MODELS[cls.__name__] = cls
    if not hasattr(cls, "get_config"):
        init = cls.__init__
        signature = inspect.signature(init)

        @functools.wraps(init)
        def recording_init(self: nn.Module, *args: Any, **kwargs: Any) -> None:
            init(self, *args, **kwargs)
            if type(self) is cls:
                bound = signature.bind(self, *args, **kwargs)
                bound.apply_defaults()
                self.__dict__["_init_config"] = dict(list(bound.arguments.items())[1:])

        cls.__init__ = recording_init  # type: ignore[method-assign]
    return cls


def module_config(module: nn.Module) -> tuple[str, dict[str, Any]]:
    """The registered class name of ``module`` and the keyword arguments that rebuild it.

    Parameters
    ----------
    module : torch.nn.Module
        An instance of a registered class.

    Returns
    -------
    name : str
    config : dict
        ``get_config()`` when the class has it, else the recorded constructor arguments.

    Examples
    --------
    >>> from latentquant.models import Autoencoder
    >>> module_config(Autoencoder(input_dim=4, latent_dim=2, seed=0))
    ('Autoencoder', {'input_dim': 4, 'latent_dim': 2, 'hidden_dims': [64, 32], 'activation': 'relu', 'dropout': 0.0, \
'seed': 0})
    """
    name = type(module).__name__
    if _MODELS.get(name) is not type(module):
        raise CheckpointError(f"{name} is not a registered latentquant network; decorate it with @register_model.")
    get_config: Callable[[], dict[str, Any]] | None = getattr(module, "get_config", None)
    if get_config is not None:
        return name, get_config()
    config: dict[str, Any] = module.__dict__["_init_config"]
    return name, dict(config)


def build_module(name: str, config: dict[str, Any]) -> nn.Module:
    """Instantiate the registered network class ``name`` with ``config`` (weights are loaded by the caller).

    Parameters
    ----------
    name : str
        A registered class name (:func:`registered_models`).
    config : dict
        Its constructor keyword arguments (:func:`module_config`).

    Returns
    -------
    torch.nn.Module

    Raises
    ------
    CheckpointError
        An unknown name, arguments the class does not accept, or (for a class with a ``parameter_count``
        classmethod) sizes that are not positive integers or describe more than :data:`MAX_PARAMETERS` parameters.

    Examples
    --------
    >>> from latentquant.models import Autoencoder
    >>> name, config = module_config(Autoencoder(input_dim=4, latent_dim=2, seed=0))
    >>> rebuilt = build_module(name, config)
    >>> type(rebuilt).__name__, rebuilt.latent_dim
    ('Autoencoder', 2)
    """
    if name not in _MODELS:
        raise CheckpointError(f"unknown network class {name!r}; known: {registered_models()}.")
    _check_size(_MODELS[name], config, f"the saved {name} configuration")
    try:
        return _MODELS[name](**config)
    except TypeError as exc:
        raise CheckpointError(f"saved arguments do not fit {name} ({exc}).") from exc


def _check_size(cls: type[nn.Module], config: Any, where: str) -> None:
    """Refuse a config whose sizes are not positive integers or describe more than :data:`MAX_PARAMETERS` parameters,
    before the network is built; classes with a ``parameter_count(config)`` classmethod are checked."""
    count: Callable[[Any], int] | None = getattr(cls, "parameter_count", None)
    if count is None or not isinstance(config, dict):
        return
    try:
        n = count(config)
    except ConfigError as exc:
        raise CheckpointError(f"{where}: {exc} The file was edited or is corrupt; save the model again.") from exc
    if n > MAX_PARAMETERS:
        fields = ", ".join(f"{k}={config[k]!r}" for k in getattr(cls, "size_fields", ()) if k in config)
        raise CheckpointError(
            f"{where}: {fields} describe a {cls.__name__} of {n:.3g} parameters, above the limit of "
            f"{MAX_PARAMETERS:.0e} (latentquant.training.checkpoint.MAX_PARAMETERS); the file was edited or is "
            "corrupt — restore it or save the model again."
        )


def registered_models() -> list[str]:
    """Sorted names of the network classes that checkpoints can rebuild (those imported so far).

    Returns
    -------
    list of str

    Examples
    --------
    >>> import latentquant.models
    >>> {"Autoencoder", "DenoisingAutoencoder", "VAE"} <= set(registered_models())
    True
    """
    return sorted(_MODELS)


def save_model(model: nn.Module, path: str | Path, *, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model`` to directory ``path`` (created if needed) and return it.

    Parameters
    ----------
    model : torch.nn.Module
        A registered class with a ``get_config()`` method.
    path : str or pathlib.Path
        Directory for ``config.json`` and ``weights.pt``.
    metadata : dict, optional
        JSON-serialisable information stored in ``config.json``.

    Returns
    -------
    pathlib.Path
        The directory.

    Raises
    ------
    CheckpointError
        ``model`` is not registered or has no ``get_config()``.

    Examples
    --------
    >>> import tempfile
    >>> from latentquant.models import Autoencoder
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     print(sorted(f.name for f in save_model(Autoencoder(4, 2, seed=0), tmp, metadata={"run": 1}).iterdir()))
    ['config.json', 'weights.pt']
    """
    from latentquant import __version__

    get_config: Callable[[], dict[str, Any]] | None = getattr(model, "get_config", None)
    if get_config is None or type(model).__name__ not in _MODELS:
        raise CheckpointError(
            f"{type(model).__name__} is not a registered latentquant model; decorate it with @register_model "
            "and give it a get_config() method."
        )
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    config = {
        "format_version": FORMAT_VERSION,
        "class": type(model).__name__,
        "config": get_config(),
        "metadata": metadata or {},
        "versions": {"latentquant": __version__, "torch": torch.__version__, "python": platform.python_version()},
    }
    text = json.dumps(config, indent=2, sort_keys=True)
    atomic_write(directory / CONFIG_FILE, lambda tmp: tmp.write_text(text))
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    atomic_write(directory / WEIGHTS_FILE, lambda tmp: torch.save(state, tmp))
    return directory


def load_model(path: str | Path, *, expected: type[nn.Module] | None = None,
               map_location: str | torch.device = "cpu") -> nn.Module:
    """Rebuild a model saved by :func:`save_model`.

    Raises :class:`~latentquant.exceptions.CheckpointError` when files are missing or corrupted, the class is unknown
    or differs from ``expected``, the sizes in the configuration are not positive integers or describe more than
    :data:`MAX_PARAMETERS` parameters (checked before anything is built), or the weights do not match the
    configuration.

    Parameters
    ----------
    path : str or pathlib.Path
        Directory written by :func:`save_model`.
    expected : type, optional
        Require the saved class to be this class or a subclass.
    map_location : str or torch.device, default "cpu"
        Where the weights are loaded.

    Returns
    -------
    torch.nn.Module
        The model, in eval mode.

    Examples
    --------
    >>> import tempfile, torch
    >>> from latentquant.models import VAE, Autoencoder
    >>> ae = Autoencoder(input_dim=4, latent_dim=2, seed=0).eval()
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     loaded = load_model(save_model(ae, tmp), expected=Autoencoder)
    ...     try:
    ...         load_model(tmp, expected=VAE)
    ...     except CheckpointError as err:
    ...         print("not a VAE:", "holds a Autoencoder" in str(err))
    not a VAE: True
    >>> x = torch.ones(3, 4)
    >>> bool(torch.equal(ae(x), loaded(x))), loaded.training
    (True, False)
    """
    directory = Path(path)
    cfg_path, w_path = directory / CONFIG_FILE, directory / WEIGHTS_FILE
    for p in (cfg_path, w_path):
        if not p.is_file():
            raise CheckpointError(
                f"Checkpoint file {p} is missing; pass the directory written by model.save(path)."
            )
    try:
        config = json.loads(cfg_path.read_text())
        cls_name, kwargs = config["class"], config["config"]
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{cfg_path} is corrupted or not a latentquant model config ({exc}).") from exc
    if cls_name not in _MODELS:
        raise CheckpointError(f"{cfg_path} names an unknown model class {cls_name!r}; known: {registered_models()}.")
    cls = _MODELS[cls_name]
    if expected is not None and not issubclass(cls, expected):
        raise CheckpointError(f"{directory} holds a {cls_name}, not a {expected.__name__}; use {cls_name}.load().")
    _check_size(cls, kwargs, str(cfg_path))
    try:
        state = torch.load(w_path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"{w_path} could not be read ({type(exc).__name__}); the file is corrupted or not a weights file."
        ) from exc
    try:
        model = cls(**kwargs)
    except TypeError as exc:
        raise CheckpointError(f"{cfg_path} has arguments {cls_name} does not accept ({exc}).") from exc
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise CheckpointError(
            f"The weights in {w_path} do not match the {cls_name} configuration in {cfg_path}: {exc}"
        ) from exc
    model.eval()
    return model
