"""Optimizers: the update maths on hand-computed examples, state per name, clipping and bad input."""
import math

import numpy as np
import pytest

from pyfadml.optim import SGD, Adam, clip_grad_norm, get_optimizer, grad_norm


def triples(**arrays):
    """name -> (param, grad) pairs as the optimizer's (name, param, grad) list."""
    return [(name, p, g) for name, (p, g) in arrays.items()]


def test_sgd_is_w_minus_lr_g():
    w = np.array([1.0, -2.0])
    g = np.array([0.5, 0.25])
    SGD(lr=0.1).step(triples(w=(w, g)))
    np.testing.assert_allclose(w, [0.95, -2.025])


def test_sgd_momentum_by_hand():
    # v1 = -0.1*1 = -0.1, w1 = 0.9;  v2 = 0.9*(-0.1) - 0.1*1 = -0.19, w2 = 0.71;
    # v3 = 0.9*(-0.19) - 0.1*2 = -0.371, w3 = 0.339
    w = np.array([1.0])
    opt = SGD(lr=0.1, momentum=0.9)
    for g, expect in ((1.0, 0.9), (1.0, 0.71), (2.0, 0.339)):
        opt.step(triples(w=(w, np.array([g]))))
        assert w[0] == pytest.approx(expect)


def test_adam_by_hand():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    w = np.array([1.0, 2.0])
    grads = [np.array([0.5, -1.0]), np.array([0.1, 3.0])]
    opt = Adam(lr=lr, beta1=b1, beta2=b2, eps=eps)
    expect = w.copy()
    m = np.zeros(2)
    v = np.zeros(2)
    for t, g in enumerate(grads, start=1):
        opt.step(triples(w=(w, g)))
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        expect = expect - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        np.testing.assert_allclose(w, expect, rtol=1e-14)
    # the very first Adam step moves each weight by ~lr in the direction of -sign(g)
    w0 = np.array([0.0, 0.0])
    Adam(lr=0.01).step(triples(w=(w0, np.array([3.0, -1e-3]))))
    np.testing.assert_allclose(w0, [-0.01, 0.01], rtol=1e-4)


def test_state_is_kept_per_name_and_params_update_in_place():
    a, b = np.array([1.0]), np.array([1.0])
    opt = SGD(lr=1.0, momentum=0.5)
    opt.step(triples(a=(a, np.array([1.0])), b=(b, np.array([0.0]))))
    opt.step(triples(a=(a, np.array([0.0])), b=(b, np.array([1.0]))))
    # a: v=-1, then v=-0.5 -> 1 - 1 - 0.5;  b: v=0, then v=-1 -> 1 - 1
    assert a[0] == pytest.approx(-0.5)
    assert b[0] == pytest.approx(0.0)
    assert set(opt.state) == {"a", "b"}


def test_lr_can_be_changed_between_steps_but_is_validated():
    opt = Adam()
    opt.lr = 0.5
    assert opt.lr == 0.5
    with pytest.raises(ValueError, match="lr must be > 0"):
        opt.lr = 0.0


def test_reset_forgets_state():
    w = np.array([1.0])
    opt = Adam(lr=0.1)
    opt.step(triples(w=(w, np.array([1.0]))))
    opt.reset()
    assert opt.state == {} and opt.t == 0


def test_clip_grad_norm_scales_to_max_norm_and_returns_the_norm_before():
    g1, g2 = np.array([3.0, 0.0]), np.array([[4.0]])
    params = triples(a=(np.zeros(2), g1), b=(np.zeros((1, 1)), g2))
    assert clip_grad_norm(params, 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(g1, [0.6, 0.0])
    np.testing.assert_allclose(g2, [[0.8]])
    assert grad_norm(params) == pytest.approx(1.0)


def test_clip_grad_norm_leaves_small_grads_alone():
    g = np.array([0.3, 0.4])
    assert clip_grad_norm(triples(a=(np.zeros(2), g)), 1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(g, [0.3, 0.4])


def test_clip_grad_norm_does_not_touch_nonfinite_grads():
    g = np.array([np.inf, 1.0])
    assert math.isinf(clip_grad_norm(triples(a=(np.zeros(2), g)), 1.0))
    assert g[1] == 1.0


def test_get_optimizer():
    assert isinstance(get_optimizer("sgd", lr=0.3), SGD) and get_optimizer("sgd").momentum == 0.0
    mom = get_optimizer("momentum", lr=0.01)
    assert isinstance(mom, SGD) and mom.momentum == 0.9 and mom.lr == 0.01
    assert get_optimizer("momentum", momentum=0.5).momentum == 0.5
    adam = get_optimizer("adam", lr=0.002)
    assert isinstance(adam, Adam) and adam.lr == 0.002
    with pytest.raises(ValueError, match=r"unknown optimizer name 'rmsprop'.*'adam'.*'momentum'.*'sgd'"):
        get_optimizer("rmsprop")


@pytest.mark.parametrize("make, match", [
    (lambda: SGD(lr=0), "SGD: lr must be > 0"),
    (lambda: SGD(lr=-1), "SGD: lr must be > 0"),
    (lambda: SGD(lr=float("nan")), "SGD: lr must be finite"),
    (lambda: SGD(momentum=1.0), r"SGD: momentum must be in \[0, 1\)"),
    (lambda: SGD(momentum=-0.1), "SGD: momentum must be >= 0"),
    (lambda: Adam(lr=0), "Adam: lr must be > 0"),
    (lambda: Adam(beta1=1.0), r"Adam: beta1 must be in \[0, 1\)"),
    (lambda: Adam(beta2=-0.5), "Adam: beta2 must be >= 0"),
    (lambda: Adam(eps=0), "Adam: eps must be > 0"),
    (lambda: clip_grad_norm([], 0.0), "max_norm must be > 0"),
])
def test_bad_hyperparameters_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_hyperparameter_types_are_refused():
    with pytest.raises(TypeError, match="SGD: lr must be a number"):
        SGD(lr="fast")
    with pytest.raises(TypeError, match="get_optimizer: name"):
        get_optimizer(None)


def test_step_refuses_malformed_parameter_lists():
    opt = SGD()
    with pytest.raises(TypeError, match=r"params\[0\] must be a \(name, param, grad\) triple"):
        opt.step([(np.zeros(2), np.zeros(2))])
    with pytest.raises(ValueError, match=r"grad of 'w' must have the shape of the param \(2,\), got \(3,\)"):
        opt.step(triples(w=(np.zeros(2), np.zeros(3))))
    with pytest.raises(ValueError, match="'w' appears twice"):
        opt.step([("w", np.zeros(2), np.zeros(2)), ("w", np.zeros(2), np.zeros(2))])
    with pytest.raises(TypeError, match="params must be a list"):
        opt.step(5)


def test_a_parameter_that_changes_shape_is_reported():
    opt = Adam()
    opt.step(triples(w=(np.zeros(2), np.ones(2))))
    with pytest.raises(ValueError, match="'w' changed shape from"):
        opt.step(triples(w=(np.zeros(3), np.ones(3))))


def test_float32_params_stay_float32():
    w = np.ones(3, dtype=np.float32)
    opt = Adam(lr=0.1)
    for _ in range(2):
        opt.step(triples(w=(w, np.ones(3, dtype=np.float32))))
    assert w.dtype == np.float32
    assert opt.state["w"]["m"].dtype == np.float32
