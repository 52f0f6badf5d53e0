"""Work in and out of the page (issue 12), natively: the scene in the address, model files and history CSVs.

The browser tests (tests/browser/test_workio.py) show the same through the page; these pin the rules.
"""
from __future__ import annotations

import csv
import io

import numpy as np
import pytest

import pyfadml
from pyfadml.app import scene
from pyfadml.demos.mlp import MLPDemo
from pyfadml.io import to_bytes as _bytes


# ---------------------------------------------------------------------------------------------
# the scene
# ---------------------------------------------------------------------------------------------

def test_split_and_encode_round_trip():
    assert scene.split("#cnn&lr=0.03&filters1=8") == ("cnn", [("lr", "0.03"), ("filters1", "8")])
    assert scene.split("section=rnn&tab=1") == ("rnn", [("tab", "1")])
    assert scene.split("") == (None, [])
    assert scene.encode("cnn", [("lr", "0.03"), ("variations", "a,b")]) == "cnn&lr=0.03&variations=a,b"
    assert scene.split(scene.encode("x y", [("k", "a&b=c")])) == ("x y", [("k", "a&b=c")])


def test_values_are_parsed_by_their_parameter_and_bad_ones_say_what_is_allowed():
    import param

    sel = param.Selector(default=0.1, objects=[0.01, 0.1, 1.0])
    assert scene.parse_value(sel, "0.01") == 0.01 and scene.parse_value(sel, "1") == 1.0
    with pytest.raises(ValueError, match="one of 0.01, 0.1, 1"):
        scene.parse_value(sel, "0.5")
    integer = param.Integer(default=0, bounds=(0, 9999))
    assert scene.parse_value(integer, "12") == 12
    for bad in ("abc", "1.5", "-1", "10000", "nan", ""):
        with pytest.raises(ValueError, match="whole number from 0 to 9999"):
            scene.parse_value(integer, bad)
    number = param.Number(default=0.1, bounds=(0.0, 0.5))
    assert scene.parse_value(number, "0.25") == 0.25
    with pytest.raises(ValueError, match="from 0 to 0.5"):
        scene.parse_value(number, "inf")
    assert scene.parse_value(param.Boolean(), "1") is True
    lst = param.ListSelector(default=["a"], objects=["a", "b", "c"])
    assert scene.parse_value(lst, "a,c") == ["a", "c"] and scene.parse_value(lst, "") == []


def test_shell_opens_the_scene_of_the_address_and_writes_it_back():
    from pyfadml.app.shell import AppShell

    shell = AppShell(scene="autoencoder&latent=4&beta=1&seed=x&colour=red")
    vae = shell.view()
    assert shell.section == "autoencoder" and vae.latent == 4 and vae.beta == 1.0 and vae.seed == 0
    assert vae.demo.latent == 4                                # the demo was rebuilt with it
    notice = shell._scene.notice.object
    assert "seed=x" in notice and "colour" in notice and 'data-kind="info"' in notice
    assert shell._scene.store.value == "autoencoder&latent=4&beta=1"
    vae.lr = 0.001
    assert shell._scene.store.value == "autoencoder&latent=4&lr=0.001&beta=1"
    shell.section = "backprop"
    assert shell._scene.store.value == ""                      # the first section with every default
    shell.view().breadth = 7
    assert shell._scene.store.value == "backprop&breadth=7"
    # the page writes an address edited by hand into the store: that scene opens
    shell._scene.store.value = "autoencoder&seed=5&beta=1"
    assert shell.section == "autoencoder" and vae.seed == 5 and vae.beta == 1.0
    assert vae.latent == 2 and vae.lr == 0.01                  # not in the address: the defaults
    assert shell._scene.store.value == "autoencoder&seed=5&beta=1"


def test_unknown_section_falls_back_to_the_default_with_a_notice():
    from pyfadml.app.shell import AppShell

    shell = AppShell(scene="nowhere&seed=3")
    assert shell.section == "backprop" and shell.view().seed == 3
    assert "no section 'nowhere'" in shell._scene.notice.object


def test_same_scene_same_numbers():
    """The settings a link restores rebuild the same demo: the same seed trains to the same losses."""
    from pyfadml.app.shell import AppShell

    section = AppShell(scene="backprop&dataset=circles&seed=11&lr=0.3").view()
    section.live.step()
    native = MLPDemo(dataset="circles", seed=11, lr=0.3)
    native.step(1)
    assert section.demo.evaluate() == native.evaluate()


# ---------------------------------------------------------------------------------------------
# models and histories
# ---------------------------------------------------------------------------------------------

def _section(name):
    if name == "backprop":
        from pyfadml.app.backprop import BackpropSection
        s = BackpropSection()
        return s, s.takeaway, lambda: s.demo.model, lambda: s.demo.X_test
    if name == "cnn":
        from pyfadml.app.cnn.training import TrainingScreen
        s = TrainingScreen(n_samples=120)
        return s, s.takeaway, lambda: s.demo.model, lambda: s.demo.X_test
    if name == "vae":
        from pyfadml.app.vae import VAESection
        s = VAESection()
        return s, s.takeaway, lambda: s.demo.vae, lambda: s.demo.X_test
    from pyfadml.app.rnn.modes import ModesTab
    s = ModesTab()
    return s, s.takeaway, lambda: s.demo.model, lambda: s.demo.X_test


def _outputs(model, X):
    return model.encode(X) if hasattr(model, "encode") else model.predict(X)


@pytest.mark.parametrize("name", ["backprop", "cnn", "vae", "rnn"])
def test_download_model_is_a_pyfadml_file_with_the_same_outputs(name, tmp_path):
    section, takeaway, model, X = _section(name)
    section.live.step()
    section.live.step()
    data = takeaway._model_file().getvalue()
    assert takeaway._download.filename == f"{name}-step2.npz"
    path = tmp_path / takeaway._download.filename
    path.write_bytes(data)
    loaded = pyfadml.load(path)
    np.testing.assert_array_equal(_outputs(loaded, X()), _outputs(model(), X()))
    rows = list(csv.DictReader(io.StringIO(takeaway._history_file().getvalue().decode())))
    assert takeaway._csv.filename == f"{name}-history-step2.csv"
    assert [int(r["step"]) for r in rows][-1] == 2


def _state(section):
    return (section.demo.step_count, [p.copy() for _, p, _ in section.demo.model.parameters()],
            {k: getattr(section, k) for k in ("dataset", "depth", "breadth", "activation")})


def test_backprop_refuses_models_that_do_not_fit_and_changes_nothing():
    from pyfadml.app.backprop import BackpropSection
    from pyfadml.demos.cnn import CNNDemo
    import pyfadml.layers
    from pyfadml.layers import ReLU, Tanh
    from pyfadml.models import Sequential

    s = BackpropSection()
    s.live.step()
    before = _state(s)
    rng = np.random.default_rng(0)

    def Dense(n_in, n_out):
        return pyfadml.layers.Dense(n_in, n_out, rng=rng)

    cases = {
        "spiral.npz": (_bytes(MLPDemo(dataset="spiral").model), "3 outputs, the dataset xor has 2 classes"),
        "cnn.npz": (_bytes(CNNDemo(n_samples=120).model), "this section trains Dense, activation"),
        "wide-in.npz": (_bytes(Sequential([Dense(3, 4), Tanh(), Dense(4, 2)])), "input size is 3"),
        "mixed.npz": (_bytes(Sequential([Dense(2, 4), Tanh(), Dense(4, 4), ReLU(), Dense(4, 2)])), "activations"),
        "uneven.npz": (_bytes(Sequential([Dense(2, 4), Tanh(), Dense(4, 5), Tanh(), Dense(5, 2)])), "[2, 4, 5, 2]"),
        "huge.npz": (_bytes(Sequential([Dense(2, 17), Tanh(), Dense(17, 2)])), "1 to 16"),
    }
    for name, (data, expected) in cases.items():
        assert not s.takeaway.load_bytes(data, name)
        assert name in s.takeaway.last_note and expected in s.takeaway.last_note, s.takeaway.last_note
        after = _state(s)
        assert after[0] == before[0] and after[2] == before[2]
        assert all(np.array_equal(a, b) for a, b in zip(after[1], before[1]))


def test_models_trained_natively_load_into_the_sections():
    from pyfadml.app.cnn.training import TrainingScreen
    from pyfadml.app.vae import VAESection
    from pyfadml.demos.cnn import CNNDemo
    from pyfadml.demos.generative import GenerativeDemo

    cnn = TrainingScreen(n_samples=120)
    native = CNNDemo(n_samples=120, filters=(3, 5), kernel_size=5, first_layer="presets_frozen")
    native.step(2)
    assert cnn.takeaway.load_bytes(_bytes(native.model), "c.npz"), cnn.takeaway.last_note
    assert (cnn.filters1, cnn.filters2, cnn.kernel_size, cnn.first_layer) == (3, 5, 5, "presets_frozen")
    np.testing.assert_array_equal(cnn.demo.model.predict(native.X_test), native.model.predict(native.X_test))
    assert not cnn.takeaway.load_bytes(_bytes(CNNDemo(dataset="digits").model), "d.npz")
    assert "10 outputs" in cnn.takeaway.last_note and cnn.filters1 == 3

    vae = VAESection()
    native = GenerativeDemo(latent=3, hidden="64")
    native.step(2)
    assert vae.takeaway.load_bytes(_bytes(native.vae), "v.npz"), vae.takeaway.last_note
    assert (vae.latent, vae.hidden) == (3, "64")
    np.testing.assert_array_equal(vae.demo.vae.encode(native.X_test)[0], native.vae.encode(native.X_test)[0])
    assert not vae.takeaway.load_bytes(_bytes(GenerativeDemo(dataset="shapes").vae), "s.npz")
    assert "144 pixels" in vae.takeaway.last_note and vae.latent == 3


def test_rnn_modes_tab_takes_a_sequence_model_and_finds_its_mode():
    from pyfadml.app.rnn.modes import ModesTab
    from pyfadml.demos.sequence import SequenceDemo

    tab = ModesTab()
    native = SequenceDemo(mode="many-to-many", cell="lstm", hidden=8)
    native.step(3)
    assert tab.takeaway.load_bytes(_bytes(native.model), "seq.npz"), tab.takeaway.last_note
    assert (tab.mode, tab.cell, tab.hidden) == ("many-to-many", "LSTM", 8)
    np.testing.assert_array_equal(tab.demo.model.predict(native.X_test), native.model.predict(native.X_test))
    assert not tab.takeaway.load_bytes(_bytes(MLPDemo().model), "mlp.npz")
    assert "RNN or LSTM cell" in tab.takeaway.last_note and tab.mode == "many-to-many"


def test_settings_of_a_part_built_later_wait_for_it():
    """The CNN builds its screen 2 after screen 1 is out: the address's settings for it apply then, and the
    settings applied before stay."""
    import param

    from pyfadml.app.shell import Section

    class Part(param.Parameterized):
        lr = param.Number(default=0.1, bounds=(0.0, 1.0))

    class View(param.Parameterized):
        screen = param.Integer(default=1, bounds=(1, 2))
        scene_deferred = ("lr",)
        part = None

        def scene_params(self):
            return [("screen", self, "screen")] + ([("lr", self.part, "lr")] if self.part else [])

        def build(self):
            self.part = Part()
            self.scene_refresh()

    class Shell:
        sections = {"a": Section("a", "A", "m:C")}
        section = "a"

        def __init__(self):
            self._views = {"a": View()}

        def view(self, key=None):
            return self._views["a"]

    shell = Shell()
    keeper = scene.Scene(shell, "a&screen=2&lr=0.5&lr2=1")
    view = shell.view()
    keeper.shown("a", view)
    assert view.screen == 2 and keeper.store.value == "a&screen=2"
    view.build()
    assert view.screen == 2 and view.part.lr == 0.5 and keeper.store.value == "a&screen=2&lr=0.5"
    assert "lr2" in keeper.notice.object
    view.part.lr = 0.25
    assert keeper.store.value == "a&screen=2&lr=0.25"


def test_the_rnn_race_downloads_both_models():
    from pyfadml.app.rnn.race import RaceTab

    tab = RaceTab()
    tab.live.step()
    for name in ("RNN", "LSTM"):
        data = tab.takeaway._downloads[name].callback().getvalue()
        assert tab.takeaway._downloads[name].filename == f"race-{name.lower()}-step1.npz"
        loaded = pyfadml.load(io.BytesIO(data))
        X = tab.demo.X_test[:5]
        np.testing.assert_array_equal(loaded.predict(X), tab.demo.models[name].predict(X))
    rows = list(csv.DictReader(io.StringIO(tab.takeaway._history_file().getvalue().decode())))
    assert "RNN_loss" in rows[0] and int(rows[-1]["step"]) == 1
