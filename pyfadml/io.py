"""Save a model to one ``.npz`` file and load it back, in this or any other process.

The file holds

* ``__pyfadml__``: a JSON string with the architecture: ``{"format": "pyfadml", "version": 1,
  "dtype": "float64", "model": {"class": "Sequential", "config": {"layers": [{"class": "Dense",
  "config": {...}}, ...]}}}``; an Autoencoder/VAE stores its constructor arguments as ``config`` and,
  for reading only, its encoder/decoder layer lists under ``parts``; a frozen layer has ``"trainable": false``;
* one array per parameter, under ``param/<name>`` with the names of ``model.parameters(trainable_only=False)``
  (``param/0.W``, ``param/encoder.2.b``, ...).

Loading cannot hurt. No pickle is involved and no module is imported, so a file cannot run code: layer
classes are looked up in :data:`pyfadml.layers.LAYERS` (pyfadml's own by bare name, yours by
``module.QualName``). Before anything is allocated, the shapes the architecture declares are computed
(without building it) and compared with the headers of the stored arrays, and their total is held to
``max_params``; only then is the model built and the weights read.

A model from a file is often meant for a model you already have (a demo's, a notebook's): :func:`check_same`
says whether the two have one architecture and, if not, the first difference; :func:`copy_weights` then
puts the loaded weights into yours. :func:`to_bytes` / :func:`from_bytes` do the same as save/load in memory
(an upload, a download), with a size limit first.
"""
from __future__ import annotations

import io as _io
import json
import math
import os
import zipfile

import numpy as np

from pyfadml._checks import check_int
from pyfadml.models import MODELS, Autoencoder, Model, VAE

FORMAT = "pyfadml"
VERSION = 1
MAX_PARAMS = 50_000_000
"""Default limit on the number of parameters ``load`` accepts (400 MB in float64)."""
MAX_BYTES = 20 * 2 ** 20
"""Default limit on the size of the bytes :func:`from_bytes` reads (a larger file is refused unopened)."""
_MAX_JSON_CHARS = 1_000_000
_MAX_MEMBERS = 10_000
_ARCH_KEY = "__pyfadml__"
_PREFIX = "param/"


def _model_class_name(model) -> str:
    """The :data:`MODELS` class a model is saved as: its own, or the registered class it extends when it
    only adds behaviour (a subclass that keeps its base's ``get_config``), e.g. a Sequential that records."""
    for cls in type(model).__mro__:
        if MODELS.get(cls.__name__) is cls:
            if cls is not type(model) and type(model).get_config is not cls.get_config:
                raise TypeError(f"save: {type(model).__name__} changes get_config, so it cannot be saved as a "
                                f"{cls.__name__}; save a {cls.__name__} with the same layers instead")
            return cls.__name__
    raise TypeError(f"save: model must be a Sequential, Autoencoder or VAE, got {type(model).__name__}")


def architecture(model) -> dict:
    """The JSON-ready description of ``model`` that :func:`save` writes."""
    if not isinstance(model, Model):
        raise TypeError(f"save: model must be a Sequential, Autoencoder or VAE, got {type(model).__name__}")
    spec = {"class": _model_class_name(model), "config": model.get_config()}
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


def _headers(zf: zipfile.ZipFile, path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """``{key: (shape, dtype)}`` of every array in the archive, from the .npy headers alone."""
    infos = zf.infolist()
    if len(infos) > _MAX_MEMBERS:
        raise _not_a_model(path, f"it holds {len(infos)} entries")
    out = {}
    for info in infos:
        if not info.filename.endswith(".npy"):
            raise _not_a_model(path, f"it holds {info.filename!r:.80}, which is not an array")
        with zf.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise _not_a_model(path, f"unsupported .npy version {version}")
        out[info.filename[:-4]] = (tuple(shape), dtype)
    return out


def _read(zf: zipfile.ZipFile, key: str) -> np.ndarray:
    with zf.open(key + ".npy") as f:
        return np.lib.format.read_array(f, allow_pickle=False)


def _declared_shapes(spec) -> dict[str, tuple[int, ...]]:
    if not isinstance(spec, dict) or not isinstance(spec.get("class"), str) or spec["class"] not in MODELS:
        got = spec.get("class") if isinstance(spec, dict) else spec
        raise ValueError(f"unknown model class {got!r:.80}; expected one of {sorted(MODELS)}")
    if not isinstance(spec.get("config"), dict):
        raise ValueError(f"model config must be a dict, got {spec.get('config')!r:.80}")
    return MODELS[spec["class"]].param_shapes(spec["config"])


def _open(path):
    if isinstance(path, (str, os.PathLike)):
        return open(path, "rb")
    if hasattr(path, "read"):
        if callable(getattr(path, "seekable", None)) and path.seekable():
            return path
        return _io.BytesIO(path.read())
    raise TypeError(f"load: path must be a filename or a binary file object, got {type(path).__name__}")


def load(path, *, max_params: int = MAX_PARAMS):
    """Rebuild the model saved at ``path`` (a filename or a binary file object) with its weights.

    Raises FileNotFoundError for a missing file and ValueError for a file that is not a pyfadml model, that
    does not match its own architecture, or that holds more than ``max_params`` parameters (raise the limit
    for a larger model you trust). The model is returned in training mode, with the dtype it was saved with.
    """
    max_params = check_int(max_params, "load: max_params")
    f = _open(path)
    try:
        if f.read(6) == b"\x93NUMPY":
            raise _not_a_model(path, "it holds a single array, not an .npz archive")
        f.seek(0)
        try:
            with zipfile.ZipFile(f) as zf:
                return _load(zf, path, max_params)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise _not_a_model(path, f"unreadable, not an .npz archive: {exc}") from None
    finally:
        if f is not path:
            f.close()


def _load(zf: zipfile.ZipFile, path, max_params: int):
    try:
        headers = _headers(zf, path)
    except ValueError as exc:
        if str(exc).startswith("load:"):
            raise
        raise _not_a_model(path, f"unreadable array header: {exc}") from None
    arch_header = headers.pop(_ARCH_KEY, None)
    if arch_header is None:
        raise _not_a_model(path, f"no {_ARCH_KEY!r} architecture entry; it has {sorted(headers)[:5]}")
    shape, dtype = arch_header
    if shape != () or dtype.kind != "U" or dtype.itemsize // 4 > _MAX_JSON_CHARS:
        raise _not_a_model(path, f"the architecture entry must be a text of at most {_MAX_JSON_CHARS} "
                                 f"characters, got shape {shape} dtype {dtype}")
    try:
        arch = json.loads(str(_read(zf, _ARCH_KEY)))
    except json.JSONDecodeError as exc:
        raise _not_a_model(path, f"the architecture is not valid JSON: {exc}") from None
    except RecursionError:
        raise _not_a_model(path, "the architecture is nested too deeply") from None
    if not isinstance(arch, dict) or arch.get("format") != FORMAT:
        raise _not_a_model(path, "the architecture has no 'format': 'pyfadml' marker")
    if arch.get("version") != VERSION:
        raise ValueError(f"load: unsupported pyfadml file version {arch.get('version')!r:.40}; "
                         f"this pyfadml reads version {VERSION}")
    try:
        declared = _declared_shapes(arch.get("model"))
    except (TypeError, ValueError, KeyError, RecursionError) as exc:
        raise ValueError(f"load: cannot rebuild the saved architecture: {exc}") from None
    stored = {k[len(_PREFIX):]: v for k, v in headers.items() if k.startswith(_PREFIX)}
    others = [k for k in headers if not k.startswith(_PREFIX)]
    missing = [n for n in declared if n not in stored]
    extra = [n for n in stored if n not in declared] + others
    if missing or extra:
        raise ValueError(f"load: the weights do not match the architecture: missing {missing[:10]}, "
                         f"unexpected {extra[:10]}")
    total = 0
    for name, shape in declared.items():
        got, dtype = stored[name]
        if got != tuple(shape):
            raise ValueError(f"load: weight {name!r} must have shape {tuple(shape)}, "
                             f"got {got}")
        if dtype.kind not in "fiu":
            raise ValueError(f"load: weight {name!r} must hold real numbers, got dtype {dtype}")
        total += math.prod(got)
    if total > max_params:
        raise ValueError(f"load: the model has {total:,} parameters, more than max_params={max_params:,}; "
                         f"pass a larger max_params if you trust this file")
    try:
        model = MODELS[arch["model"]["class"]].from_config(arch["model"]["config"])
        if "dtype" in arch:
            model.astype(arch["dtype"])
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"load: cannot rebuild the saved architecture: {exc}") from None
    for name, p, _ in model.parameters(trainable_only=False):
        w = _read(zf, _PREFIX + name)
        if not np.all(np.isfinite(w)):
            raise ValueError(f"load: weight {name!r} contains NaN or inf")
        p[...] = w
    return model


def to_bytes(model) -> bytes:
    """``model`` in the format of :func:`save`, as bytes (what a download sends)."""
    buffer = _io.BytesIO()
    save(model, buffer)
    return buffer.getvalue()


def from_bytes(data: bytes | None, name: str = "the file", *, max_bytes: int = MAX_BYTES,
               max_params: int = MAX_PARAMS):
    """The model in ``data`` (the bytes of an ``.npz`` from :func:`save`, e.g. an upload). ValueError, with
    ``name`` in its message, for empty or oversized bytes and for anything :func:`load` refuses."""
    if not data:
        raise ValueError(f"{name} is empty.")
    if len(data) > max_bytes:
        raise ValueError(f"{name} is {len(data) / 2 ** 20:.1f} MB; a model read here is at most "
                         f"{max_bytes / 2 ** 20:.0f} MB.")
    try:
        return load(_io.BytesIO(data), max_params=max_params)
    except ValueError as exc:
        text = str(exc).removeprefix("load: ").replace("the file object", name)
        raise ValueError(text if name in text else f"{name}: {text}") from None


def layer_specs(model) -> list[tuple[str, dict]]:
    """``[(class name, config), ...]`` of a Sequential's layers; ValueError for any other model."""
    layers = getattr(model, "layers", None)
    if layers is None:
        raise ValueError(f"the file holds a {type(model).__name__}; a Sequential network is needed here")
    return [(type(layer).__name__, layer.get_config()) for layer in layers]


def _strip_init(spec):
    if isinstance(spec, dict):
        return {k: _strip_init(v) for k, v in spec.items() if k != "init"}
    if isinstance(spec, list):
        return [_strip_init(v) for v in spec]
    return spec


def shape_of(model) -> dict:
    """The architecture :func:`save` writes (class, config, frozen layers), without the initialisation
    schemes (which do not change what a model computes)."""
    return _strip_init(architecture(model)["model"])


def _layer_text(spec: dict) -> str:
    args = ", ".join(f"{k}={v}" for k, v in spec.get("config", {}).items())
    return f"{spec['class']}({args})" + (" (frozen)" if spec.get("trainable") is False else "")


def check_same(name: str, model, template, *, whose: str = "this section's") -> None:
    """ValueError naming the first difference unless ``model`` (called ``name``) has ``template``'s
    architecture; ``whose`` names the template in the message."""
    got, want = shape_of(model), shape_of(template)
    if got == want:
        return
    if got["class"] != want["class"]:
        raise ValueError(f"{name} does not fit: it holds a {got['class']}, {whose} model is a {want['class']}.")
    a, b = got["config"].get("layers"), want["config"].get("layers")
    if a is None or b is None:
        diff = [k for k in sorted(set(got["config"]) | set(want["config"]))
                if got["config"].get(k) != want["config"].get(k)]
        k = diff[0] if diff else "?"
        raise ValueError(f"{name} does not fit: its {k} is {got['config'].get(k)}, {whose} is "
                         f"{want['config'].get(k)}.")
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            raise ValueError(f"{name} does not fit: its layer {i + 1} is {_layer_text(x)}, {whose} is "
                             f"{_layer_text(y)}.")
    raise ValueError(f"{name} does not fit: it has {len(a)} layers, {whose} network has {len(b)}.")


def copy_weights(target, source) -> None:
    """Copy every parameter of ``source`` into ``target`` (same names and shapes, else ValueError and
    nothing copied), cast to ``target``'s dtype."""
    src = {name: p for name, p, _ in source.parameters(trainable_only=False)}
    dst = list(target.parameters(trainable_only=False))
    if sorted(src) != sorted(name for name, _, _ in dst):
        raise ValueError("the model's parameters do not match the network they are copied into")
    for name, p, _ in dst:
        if src[name].shape != p.shape:
            raise ValueError(f"weight {name} has shape {src[name].shape}, the network needs {p.shape}")
    for name, p, _ in dst:
        p[...] = src[name]
