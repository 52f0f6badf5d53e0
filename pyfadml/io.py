"""Save a model to one ``.npz`` file and load it back, in this or any other process.

The file holds

* ``__pyfadml__``: a JSON string with the architecture: ``{"format": "pyfadml", "version": 1,
  "dtype": "float64", "model": {"class": "Sequential", "config": {"layers": [{"class": "Dense",
  "config": {...}}, ...]}}}``; an Autoencoder/VAE stores its constructor arguments as ``config`` and,
  for reading only, its encoder/decoder layer lists under ``parts``;
* one array per parameter, under ``param/<name>`` with the names of ``model.parameters()``
  (``param/0.W``, ``param/encoder.2.b``, ...).

Loading rebuilds the model from the JSON and copies the weights in, checking every name and shape. No
pickle is involved, so loading a file cannot run code.
"""
from __future__ import annotations

import io as _io
import json
import os
import zipfile

import numpy as np

from pyfadml.models import MODELS, Autoencoder, Model, VAE

FORMAT = "pyfadml"
VERSION = 1
_ARCH_KEY = "__pyfadml__"
_PREFIX = "param/"


def architecture(model) -> dict:
    """The JSON-ready description of ``model`` that :func:`save` writes."""
    if not isinstance(model, Model):
        raise TypeError(f"save: model must be a Sequential, Autoencoder or VAE, got {type(model).__name__}")
    spec = {"class": type(model).__name__, "config": model.get_config()}
    if isinstance(model, (Autoencoder, VAE)):
        spec["parts"] = {prefix: part.get_config() for prefix, part in model._parts()}
    return {"format": FORMAT, "version": VERSION, "dtype": str(model.dtype), "model": spec}


def save(model, path) -> None:
    """Write ``model`` (architecture + weights) to ``path`` (a filename or a binary file object).

    The file is written exactly at ``path`` (no ".npz" is appended).
    """
    arch = architecture(model)
    arrays = {_ARCH_KEY: np.array(json.dumps(arch))}
    for name, p, _ in model.parameters(trainable_only=False):
        arrays[_PREFIX + name] = p
    if isinstance(path, (str, os.PathLike)):
        with open(path, "wb") as f:
            np.savez(f, **arrays)
    elif hasattr(path, "write"):
        np.savez(path, **arrays)
    else:
        raise TypeError(f"save: path must be a filename or a binary file object, got {type(path).__name__}")


def _not_a_model(path, why: str) -> ValueError:
    where = repr(os.fspath(path)) if isinstance(path, (str, os.PathLike)) else "the file object"
    return ValueError(f"load: {where} is not a pyfadml model file ({why}); "
                      f"expected an .npz written by pyfadml.io.save")


def _build(spec: dict):
    if not isinstance(spec, dict) or spec.get("class") not in MODELS:
        got = spec.get("class") if isinstance(spec, dict) else spec
        raise ValueError(f"unknown model class {got!r}; expected one of {sorted(MODELS)}")
    cls = MODELS[spec["class"]]
    config = spec.get("config")
    if not isinstance(config, dict):
        raise ValueError(f"model config must be a dict, got {config!r:.80}")
    return cls.from_config(config)


def load(path):
    """Rebuild the model saved at ``path`` (a filename or a binary file object) with its weights.

    Raises FileNotFoundError for a missing file and ValueError for a file that is not a pyfadml model.
    The model is returned in training mode, with the dtype it was saved with.
    """
    if isinstance(path, (str, os.PathLike)):
        with open(path, "rb") as f:
            data = f.read()
    elif hasattr(path, "read"):
        data = path.read()
    else:
        raise TypeError(f"load: path must be a filename or a binary file object, got {type(path).__name__}")
    try:
        npz = np.load(_io.BytesIO(data), allow_pickle=False)
        if not hasattr(npz, "files"):
            raise _not_a_model(path, "it holds a single array, not an .npz archive")
        with npz:
            files = {k: npz[k] for k in npz.files}
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise _not_a_model(path, f"not an .npz archive: {exc}") from None
    except ValueError as exc:
        if str(exc).startswith("load:"):
            raise
        raise _not_a_model(path, f"unreadable: {exc}") from None
    if _ARCH_KEY not in files:
        raise _not_a_model(path, f"no {_ARCH_KEY!r} architecture entry; it has {sorted(files)[:5]}")
    try:
        arch = json.loads(str(files[_ARCH_KEY]))
    except json.JSONDecodeError as exc:
        raise _not_a_model(path, f"the architecture is not valid JSON: {exc}") from None
    if not isinstance(arch, dict) or arch.get("format") != FORMAT:
        raise _not_a_model(path, "the architecture has no 'format': 'pyfadml' marker")
    if arch.get("version") != VERSION:
        raise ValueError(f"load: unsupported pyfadml file version {arch.get('version')!r}; "
                         f"this pyfadml reads version {VERSION}")
    try:
        model = _build(arch.get("model"))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"load: cannot rebuild the saved architecture: {exc}") from None
    if "dtype" in arch:
        model.astype(arch["dtype"])
    saved = {k[len(_PREFIX):]: v for k, v in files.items() if k.startswith(_PREFIX)}
    params = model.parameters(trainable_only=False)
    names = [name for name, _, _ in params]
    missing = [n for n in names if n not in saved]
    extra = [n for n in saved if n not in names]
    if missing or extra:
        raise ValueError(f"load: the weights do not match the architecture: missing {missing}, "
                         f"unexpected {extra}")
    for name, p, _ in params:
        w = saved[name]
        if w.shape != p.shape:
            raise ValueError(f"load: weight {name!r} must have shape {p.shape}, got {w.shape}")
        p[...] = w
    return model

