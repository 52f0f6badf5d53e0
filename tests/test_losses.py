"""Losses: values against hand computations, gradients against centred differences, and bad inputs."""
import numpy as np
import pytest

from pyfadml.gradcheck import numerical_gradient, rel_error
from pyfadml.losses import (
    LOSSES, binary_cross_entropy_with_logits, get_loss, half_squared_error, mse, softmax,
    softmax_cross_entropy,
)

TOL = 1e-7


def grad_error(loss_fn, pred, target):
    """rel error between a loss's analytic gradient and the centred difference, float64."""
    pred = np.array(pred, dtype=np.float64)
    _, analytic = loss_fn(pred, target)
    numeric = numerical_gradient(lambda _: loss_fn(pred, target)[0], pred)
    return rel_error(analytic, numeric)


# ---------------------------------------------------------------- values
def test_half_squared_error_is_lecture_eq1_mean_over_batch():
    pred = np.array([[1.0, 2.0], [0.0, 0.0]])
    target = np.array([[0.0, 0.0], [3.0, 4.0]])
    loss, grad = half_squared_error(pred, target)
    # sample 1: 1/2 (1 + 4) = 2.5;  sample 2: 1/2 (9 + 16) = 12.5;  mean 7.5
    assert loss == pytest.approx(7.5)
    np.testing.assert_allclose(grad, (pred - target) / 2)
    assert isinstance(loss, float)


def test_half_squared_error_on_images_sums_over_all_pixel_axes():
    rng = np.random.default_rng(0)
    pred, target = rng.random((4, 1, 3, 3)), rng.random((4, 1, 3, 3))
    loss, grad = half_squared_error(pred, target)
    assert loss == pytest.approx(0.5 * np.sum((pred - target) ** 2) / 4)
    assert grad.shape == pred.shape


def test_mse_value():
    loss, grad = mse(np.array([[1.0, 3.0]]), np.array([[0.0, 0.0]]))
    assert loss == pytest.approx(5.0)
    np.testing.assert_allclose(grad, [[1.0, 3.0]])


def test_softmax_rows_sum_to_one_and_survive_huge_logits():
    z = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    p = softmax(z)
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(p[1], np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum())


def test_softmax_cross_entropy_value():
    logits = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]])
    labels = np.array([0, 2])
    p = softmax(logits)
    loss, grad = softmax_cross_entropy(logits, labels)
    assert loss == pytest.approx(-(np.log(p[0, 0]) + np.log(p[1, 2])) / 2)
    onehot = np.eye(3)[labels]
    np.testing.assert_allclose(grad, (p - onehot) / 2)


def test_softmax_cross_entropy_is_stable_for_extreme_logits():
    loss, grad = softmax_cross_entropy(np.array([[1000.0, -1000.0]]), np.array([1]))
    assert loss == pytest.approx(2000.0)
    np.testing.assert_allclose(grad, [[1.0, -1.0]])
    loss, _ = softmax_cross_entropy(np.array([[1000.0, -1000.0]]), np.array([0]))
    assert loss == pytest.approx(0.0, abs=1e-12)


def test_softmax_cross_entropy_sequences_average_over_batch_and_time():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((3, 4, 5))
    labels = rng.integers(0, 5, (3, 4))
    loss, grad = softmax_cross_entropy(logits, labels)
    flat_loss, flat_grad = softmax_cross_entropy(logits.reshape(12, 5), labels.reshape(12))
    assert loss == pytest.approx(flat_loss)
    np.testing.assert_allclose(grad.reshape(12, 5), flat_grad)


def test_bce_with_logits_matches_the_naive_formula_and_is_stable():
    z = np.array([[0.3], [-1.2], [2.0]])
    y = np.array([[1.0], [0.0], [1.0]])
    s = 1 / (1 + np.exp(-z))
    naive = -np.mean(y * np.log(s) + (1 - y) * np.log(1 - s))
    loss, grad = binary_cross_entropy_with_logits(z, y)
    assert loss == pytest.approx(naive)
    np.testing.assert_allclose(grad, (s - y) / 3)
    loss, grad = binary_cross_entropy_with_logits(np.array([[1000.0], [-1000.0]]), np.array([[0.0], [1.0]]))
    assert loss == pytest.approx(1000.0)
    assert np.all(np.isfinite(grad))


def test_bce_accepts_flat_targets_for_a_single_logit_column():
    z = np.array([[0.3], [-1.2]])
    a = binary_cross_entropy_with_logits(z, np.array([1, 0]))
    b = binary_cross_entropy_with_logits(z, np.array([[1.0], [0.0]]))
    assert a[0] == b[0]
    assert a[1].shape == z.shape


def test_float32_predictions_give_float32_gradients():
    rng = np.random.default_rng(2)
    z = rng.standard_normal((4, 3)).astype(np.float32)
    assert softmax_cross_entropy(z, np.array([0, 1, 2, 0]))[1].dtype == np.float32
    assert half_squared_error(z, np.zeros((4, 3)))[1].dtype == np.float32
    assert mse(z, np.zeros((4, 3)))[1].dtype == np.float32
    assert binary_cross_entropy_with_logits(z, np.ones((4, 3)))[1].dtype == np.float32


# ---------------------------------------------------------------- gradient checks
def test_gradcheck_half_squared_error():
    rng = np.random.default_rng(3)
    assert grad_error(half_squared_error, rng.standard_normal((5, 7)), rng.standard_normal((5, 7))) < TOL


def test_gradcheck_mse():
    rng = np.random.default_rng(4)
    assert grad_error(mse, rng.standard_normal((5, 2, 3)), rng.standard_normal((5, 2, 3))) < TOL


def test_gradcheck_softmax_cross_entropy():
    rng = np.random.default_rng(5)
    assert grad_error(softmax_cross_entropy, 2 * rng.standard_normal((6, 4)), rng.integers(0, 4, 6)) < TOL


def test_gradcheck_softmax_cross_entropy_sequences():
    rng = np.random.default_rng(6)
    assert grad_error(softmax_cross_entropy, rng.standard_normal((3, 5, 4)), rng.integers(0, 4, (3, 5))) < TOL


def test_gradcheck_bce_with_logits():
    rng = np.random.default_rng(7)
    targets = rng.random((6, 3))  # soft labels too
    assert grad_error(binary_cross_entropy_with_logits, 3 * rng.standard_normal((6, 3)), targets) < TOL


# ---------------------------------------------------------------- registry
def test_get_loss_by_name():
    assert get_loss("half_se") is half_squared_error
    assert get_loss("mse") is mse
    assert get_loss("cross_entropy") is softmax_cross_entropy
    assert get_loss("bce_logits") is binary_cross_entropy_with_logits


def test_get_loss_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="nope") as info:
        get_loss("nope")
    for name in LOSSES:
        assert name in str(info.value)
    with pytest.raises(TypeError, match="name"):
        get_loss(3)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("fn", [half_squared_error, mse])
def test_regression_losses_refuse_mismatched_shapes(fn):
    with pytest.raises(ValueError, match=r"target must have the shape of pred \(4, 3\), got \(4, 2\)"):
        fn(np.zeros((4, 3)), np.zeros((4, 2)))


@pytest.mark.parametrize("fn", [half_squared_error, mse])
def test_regression_losses_refuse_non_numeric_input(fn):
    with pytest.raises(TypeError, match="pred"):
        fn(np.array(["a", "b"]), np.zeros(2))


def test_cross_entropy_refuses_labels_out_of_range():
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\), got values from 0 to 3"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="labels"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([-1, 0]))


def test_cross_entropy_refuses_wrong_label_shape_and_dtype():
    with pytest.raises(ValueError, match=r"labels must have shape \(2,\), got \(3,\)"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"labels must have shape \(2, 4\)"):
        softmax_cross_entropy(np.zeros((2, 4, 3)), np.zeros(2, dtype=int))
    with pytest.raises(TypeError, match="labels must hold integer class labels"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0.5, 1.0]))


def test_cross_entropy_refuses_wrong_logit_rank():
    with pytest.raises(ValueError, match="logits must be 2 or 3-dimensional"):
        softmax_cross_entropy(np.zeros(3), np.array([0]))


def test_bce_refuses_targets_outside_unit_interval_and_bad_shapes():
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\]"):
        binary_cross_entropy_with_logits(np.zeros((2, 1)), np.array([[0.0], [2.0]]))
    with pytest.raises(ValueError, match=r"targets must have the shape of logits \(2, 2\)"):
        binary_cross_entropy_with_logits(np.zeros((2, 2)), np.zeros(2))


def test_empty_batches_are_refused():
    with pytest.raises(ValueError, match="pred"):
        half_squared_error(np.zeros((0, 3)), np.zeros((0, 3)))
    with pytest.raises(ValueError, match="logits"):
        softmax_cross_entropy(np.zeros((0, 3)), np.zeros(0, dtype=int))
