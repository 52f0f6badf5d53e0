"""Conv2D / Conv2DNaive / MaxPool2D / Flatten: gradient checks, the two convolutions agree, the lecture's X."""
import numpy as np
import pytest

from pyfadml.gradcheck import check_layer
from pyfadml.layers import _matmul
from pyfadml.layers.base import LAYERS
from pyfadml.layers.conv import (
    Conv2D, Conv2DNaive, Flatten, MaxPool2D, MaxPool2DNaive, col2im, conv2d_naive, correlate2d, im2col,
)

TOL = 1e-7
X_KERNEL = np.array([[1, -1, 1], [-1, 1, -1], [1, -1, 1]], dtype=float)

# (kernel, stride, padding, H, W): every combination of k in {1,3,5}, s in {1,2}, p in {0,1,2} that tiles
CONV_CASES = [(k, s, p, H, W)
              for k in (1, 3, 5) for s in (1, 2) for p in (0, 1, 2)
              for H, W in [(7, 7), (6, 8)]
              if k <= H + 2 * p and (H + 2 * p - k) % s == 0 and (W + 2 * p - k) % s == 0]


def _conv(cls, c_in, c_out, k, s, p, seed):
    rng = np.random.default_rng(seed)
    layer = cls(c_in, c_out, k, stride=s, padding=p, rng=rng)
    layer.params["b"][...] = rng.normal(size=c_out)
    return layer


def test_conv_cases_cover_the_grid():
    assert {(k, s, p) for k, s, p, _, _ in CONV_CASES} == {(k, s, p) for k in (1, 3, 5) for s in (1, 2)
                                                          for p in (0, 1, 2)}


@pytest.mark.parametrize("k,s,p,H,W", CONV_CASES)
def test_conv2d_gradcheck(k, s, p, H, W):
    rng = np.random.default_rng(0)
    layer = _conv(Conv2D, 2, 3, k, s, p, seed=1)
    errors = check_layer(layer, rng.normal(size=(2, 2, H, W)), rng=rng)
    assert set(errors) == {"x", "W", "b"}
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("k,s,p", [(3, 1, 1), (3, 2, 0), (5, 2, 2), (1, 1, 0)])
def test_conv2d_naive_gradcheck(k, s, p):
    rng = np.random.default_rng(0)
    layer = _conv(Conv2DNaive, 3, 2, k, s, p, seed=2)
    errors = check_layer(layer, rng.normal(size=(2, 3, 5, 5)), rng=rng)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("no_blas", [False, True], ids=["blas", "browser-products"])
def test_conv2d_equals_naive_twin(seed, no_blas, monkeypatch):
    monkeypatch.setattr(_matmul, "NO_BLAS", no_blas)   # True: the einsum products Pyodide uses
    rng = np.random.default_rng(seed)
    k, s = int(rng.choice([1, 2, 3, 4, 5])), int(rng.choice([1, 2, 3]))
    p = int(rng.integers(0, 3))
    n, c_in, c_out = (int(v) for v in rng.integers(1, 4, size=3))
    # the windows tile when H + 2p - k = s * m for a whole m >= 0; take the smallest m with H >= 1, plus 0..3
    m_min = max(0, -((k - 2 * p - 1) // s))
    H, W = (k - 2 * p + s * (m_min + int(rng.integers(0, 4))) for _ in range(2))
    fast = _conv(Conv2D, c_in, c_out, k, s, p, seed=seed)
    naive = _conv(Conv2DNaive, c_in, c_out, k, s, p, seed=seed)
    np.testing.assert_array_equal(fast.params["W"], naive.params["W"])  # same constructor, same weights
    x = rng.normal(size=(n, c_in, H, W))
    z_fast, z_naive = fast.forward(x), naive.forward(x)
    assert z_fast.shape == z_naive.shape == (n, c_out, (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1)
    np.testing.assert_allclose(z_fast, z_naive, rtol=1e-12, atol=1e-12)
    dout = rng.normal(size=z_fast.shape)
    np.testing.assert_allclose(fast.backward(dout), naive.backward(dout), rtol=1e-12, atol=1e-12)
    for key in ("W", "b"):
        np.testing.assert_allclose(fast.grads[key], naive.grads[key], rtol=1e-12, atol=1e-12)


def test_conv2d_naive_matches_the_formula_by_hand():
    x = np.arange(16, dtype=float).reshape(1, 1, 4, 4)
    W = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])        # x[i, j] - x[i+1, j+1] = -5 everywhere
    z = conv2d_naive(x, W, np.array([2.0]), stride=2, padding=0)
    np.testing.assert_array_equal(z, np.full((1, 1, 2, 2), -3.0))
    z = conv2d_naive(x, W, None, stride=1, padding=1)
    assert z.shape == (1, 1, 5, 5)
    assert z[0, 0, 0, 0] == -0.0 - x[0, 0, 0, 0] and z[0, 0, 4, 4] == x[0, 0, 3, 3]
    np.testing.assert_array_equal(correlate2d(x[0, 0], W[0, 0]), np.full((3, 3), -5.0))


def _lecture_x_images():
    """The lecture's X: a local 9x9 version (+1 on both full diagonals, -1 elsewhere) and the canonical one."""
    local = -np.ones((9, 9))
    idx = np.arange(9)
    local[idx, idx] = 1
    local[idx, 8 - idx] = 1
    images = [local]
    try:
        from pyfadml.data.images import lecture_x
    except ImportError:
        return images
    return images + [lecture_x()]


@pytest.mark.parametrize("image", _lecture_x_images())
def test_lecture_x_kernel_finds_the_centre(image):
    expected_centre = (image.shape[0] - 3) // 2  # output (7, 7); window centred on pixel (4, 4) is z[3, 3]
    maps = [correlate2d(image, X_KERNEL)]
    for cls in (Conv2D, Conv2DNaive):
        layer = cls(1, 1, 3, rng=0)
        layer.params["W"][...] = X_KERNEL
        layer.params["b"][...] = 0.0
        maps.append(layer.forward(image[None, None])[0, 0])
    for z in maps:
        assert z.shape == (7, 7)
        assert z[expected_centre, expected_centre] == 9.0
        others = np.delete(z.ravel(), expected_centre * 7 + expected_centre)
        assert np.all(others < 9)
        np.testing.assert_array_equal(z, maps[0])


def test_conv2d_params_init_and_config():
    layer = Conv2D(3, 16, 5, stride=1, padding=2, rng=0)
    assert layer.params["W"].shape == (16, 3, 5, 5) and layer.params["b"].shape == (16,)
    assert layer.params["W"].std() == pytest.approx(np.sqrt(2 / 75), rel=0.1)  # He, fan_in = 3*5*5
    cfg = layer.get_config()
    assert cfg == {"c_in": 3, "c_out": 16, "kernel_size": 5, "stride": 1, "padding": 2}
    for name in ("Conv2D", "Conv2DNaive"):
        rebuilt = LAYERS[name](**cfg, rng=0)
        np.testing.assert_array_equal(rebuilt.params["W"], layer.params["W"])
        assert rebuilt.get_config() == cfg


def test_conv2d_dtypes():
    layer = Conv2D(1, 2, 3, rng=0)
    assert layer.forward(np.ones((1, 1, 4, 4), dtype=np.float32)).dtype == np.float64
    for k in layer.params:
        layer.params[k] = layer.params[k].astype(np.float32)
    assert layer.forward(np.ones((1, 1, 4, 4))).dtype == np.float32
    assert layer.backward(np.ones((1, 2, 2, 2))).dtype == np.float32


@pytest.mark.parametrize("cls", [Conv2D, Conv2DNaive])
def test_conv2d_bad_input(cls):
    name = cls.__name__
    layer = cls(3, 2, 3, stride=2, padding=1, rng=0)
    with pytest.raises(RuntimeError, match=f"{name}.backward called before forward"):
        layer.backward(np.ones((1, 2, 3, 3)))
    with pytest.raises(ValueError, match=rf"{name}.forward: x must have c_in=3 channels.*got \(2, 1, 5, 5\)"):
        layer.forward(np.ones((2, 1, 5, 5)))
    with pytest.raises(ValueError, match=r"4-dimensional, got shape \(3, 5, 5\)"):
        layer.forward(np.ones((3, 5, 5)))
    with pytest.raises(ValueError, match=r"\(6 \+ 2\*1 - 3\) = 5 is not divisible by stride 2"):
        layer.forward(np.ones((1, 3, 6, 5)))
    with pytest.raises(TypeError, match="numbers"):
        layer.forward(np.full((1, 3, 5, 5), "a"))
    big = cls(1, 1, 5, padding=1, rng=0)
    with pytest.raises(ValueError, match=r"kernel 5x5 is larger than the padded input 4x4 .*\(1, 1, 2, 2\)"):
        big.forward(np.ones((1, 1, 2, 2)))
    layer.forward(np.ones((2, 3, 5, 5)))
    with pytest.raises(ValueError, match=rf"{name}.backward: dout must have shape \(2, 2, 3, 3\)"):
        layer.backward(np.ones((2, 2, 5, 5)))


def test_conv2d_bad_constructor_arguments():
    with pytest.raises(ValueError, match="kernel_size"):
        Conv2D(1, 1, 0, rng=0)
    with pytest.raises(ValueError, match="padding"):
        Conv2D(1, 1, 3, padding=-1, rng=0)
    with pytest.raises(ValueError, match="stride"):
        Conv2D(1, 1, 3, stride=0, rng=0)
    with pytest.raises(TypeError, match="c_in"):
        Conv2D(1.0, 1, 3, rng=0)
    with pytest.raises(TypeError):
        Conv2D(1, 1, 3)  # rng required


def test_conv_functions_bad_input():
    with pytest.raises(ValueError, match=r"x must have 2 channels to match W of shape \(1, 2, 3, 3\)"):
        conv2d_naive(np.ones((1, 3, 5, 5)), np.ones((1, 2, 3, 3)))
    with pytest.raises(ValueError, match=r"b must have shape \(1\)"):
        conv2d_naive(np.ones((1, 2, 5, 5)), np.ones((1, 2, 3, 3)), np.ones(2))
    with pytest.raises(ValueError, match="2-dimensional"):
        correlate2d(np.ones((1, 5, 5)), X_KERNEL)


# -------------------------------------------------------------------------------------------- MaxPool2D

@pytest.mark.parametrize("size,stride,H,W", [(2, None, 4, 6), (3, None, 6, 3), (3, 1, 5, 5), (3, 2, 7, 5),
                                             (2, 1, 3, 4), (1, None, 2, 2)])
def test_maxpool_gradcheck(size, stride, H, W):
    rng = np.random.default_rng(0)
    x = rng.permutation(2 * 3 * H * W).reshape(2, 3, H, W) / 10.0  # distinct values: no ties within h = 1e-6
    errors = check_layer(MaxPool2D(size, stride), x, rng=rng)
    assert errors["x"] < TOL, errors


@pytest.mark.parametrize("seed", range(8))
def test_maxpool_equals_naive_twin(seed):
    rng = np.random.default_rng(seed)
    size, stride = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    H, W = (size + stride * int(rng.integers(0, 4)) for _ in range(2))
    # few distinct values: many ties, which both must break the same way (first maximum, row-major)
    x = rng.integers(0, 3, size=(2, 3, H, W)).astype(float)
    fast, naive = MaxPool2D(size, stride), MaxPool2DNaive(size, stride)
    out = fast.forward(x)
    np.testing.assert_array_equal(out, naive.forward(x))
    dout = rng.normal(size=out.shape)
    np.testing.assert_array_equal(fast.backward(dout), naive.backward(dout))
    assert naive.get_config() == fast.get_config()


def test_maxpool_reads_batch_last_input():
    """Conv2D's output is stored batch-last; pooling it gives what pooling a C-ordered copy gives."""
    rng = np.random.default_rng(0)
    z = Conv2D(2, 3, 3, padding=1, rng=0).forward(rng.normal(size=(4, 2, 6, 6)))
    assert not z.flags.c_contiguous
    a, b = MaxPool2D(2), MaxPool2D(2)
    np.testing.assert_array_equal(a.forward(z), b.forward(np.ascontiguousarray(z)))
    dout = rng.normal(size=(4, 3, 3, 3))
    np.testing.assert_array_equal(a.backward(dout), b.backward(dout))


def test_im2col_columns_and_col2im_adjoint():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 5, 4))
    k, s, p = 3, 2, 1
    cols = im2col(x, k, s, p)
    H_out, W_out = (5 + 2 * p - k) // s + 1, (4 + 2 * p - k) // s + 1
    assert cols.shape == (3 * k * k, H_out * W_out * 2)
    x_pad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    for n, i, j in [(1, 2, 1), (0, 0, 0), (1, 0, 1)]:   # column (i, j, n) is that window, channels first
        np.testing.assert_array_equal(cols[:, (i * W_out + j) * 2 + n],
                                      x_pad[n, :, s * i:s * i + k, s * j:s * j + k].ravel())
    # col2im is the adjoint of im2col:  <im2col(x), d> = <x, col2im(d)>
    d = rng.normal(size=cols.shape)
    assert np.sum(cols * d) == pytest.approx(np.sum(x * col2im(d, x.shape, k, s, p)), rel=1e-12)


def test_maxpool_values_and_routing():
    x = np.array([[1.0, 3.0, 2.0, 0.0],
                  [4.0, 2.0, 1.0, 5.0],
                  [0.0, 0.0, 7.0, 1.0],
                  [6.0, 1.0, 2.0, 3.0]])[None, None]
    pool = MaxPool2D(2)
    np.testing.assert_array_equal(pool.forward(x)[0, 0], [[4, 5], [6, 7]])
    dx = pool.backward(np.array([[[[10.0, 20.0], [30.0, 40.0]]]]))[0, 0]
    np.testing.assert_array_equal(dx, [[0, 0, 0, 0], [10, 0, 0, 20], [0, 0, 40, 0], [30, 0, 0, 0]])


def test_maxpool_ties_have_one_winner_per_window():
    pool = MaxPool2D(2)
    x = np.ones((2, 3, 4, 4))
    out = pool.forward(x)
    dx = pool.backward(np.ones_like(out))
    windows = dx.reshape(2, 3, 2, 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(2, 3, 2, 2, 4)
    np.testing.assert_array_equal(windows.sum(axis=-1), 1.0)          # each window passes its gradient once
    np.testing.assert_array_equal(dx[0, 0], [[1, 0, 1, 0], [0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]])


def test_maxpool_overlapping_windows_add_up():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 1.0                            # the centre wins all four 2x2 windows (stride 1)
    pool = MaxPool2D(2, stride=1)
    np.testing.assert_array_equal(pool.forward(x), np.ones((1, 1, 2, 2)))
    assert pool.backward(np.ones((1, 1, 2, 2)))[0, 0, 1, 1] == 4.0


def test_maxpool_dtype_config_and_bad_input():
    pool = MaxPool2D(2)
    assert pool.get_config() == {"size": 2, "stride": 2}
    assert MaxPool2D(3, 1).get_config() == {"size": 3, "stride": 1}
    out = pool.forward(np.ones((1, 1, 4, 4), dtype=np.float32))
    assert out.dtype == np.float32 and pool.backward(np.ones((1, 1, 2, 2))).dtype == np.float32
    fresh = MaxPool2D()
    with pytest.raises(RuntimeError, match="MaxPool2D.backward called before forward"):
        fresh.backward(np.ones((1, 1, 2, 2)))
    with pytest.raises(ValueError, match=r"\(H \+ 2\*padding - window\) = \(5 \+ 2\*0 - 2\) = 3 is not divisible"):
        pool.forward(np.ones((1, 1, 5, 4)))
    with pytest.raises(ValueError, match="window 2x2 is larger than the padded input 1x1"):
        pool.forward(np.ones((1, 1, 1, 1)))
    with pytest.raises(ValueError, match="4-dimensional"):
        pool.forward(np.ones((4, 4)))
    pool.forward(np.ones((1, 1, 4, 4)))
    with pytest.raises(ValueError, match=r"MaxPool2D.backward: dout must have shape \(1, 1, 2, 2\)"):
        pool.backward(np.ones((1, 1, 4, 4)))
    with pytest.raises(ValueError, match="size"):
        MaxPool2D(0)


# ---------------------------------------------------------------------------------------------- Flatten

def test_flatten_gradcheck_shapes_and_bad_input():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 4, 5))
    flat = Flatten()
    out = flat.forward(x)
    assert out.shape == (2, 60)
    np.testing.assert_array_equal(out[1], x[1].ravel())
    assert check_layer(Flatten(), x, rng=rng)["x"] < TOL
    assert flat.get_config() == {}
    assert Flatten().forward(np.ones((2, 3), dtype=np.float32)).dtype == np.float32
    with pytest.raises(RuntimeError, match="Flatten.backward called before forward"):
        Flatten().backward(np.ones((2, 60)))
    with pytest.raises(ValueError, match=r"shape \(N, ...\), got \(5,\)"):
        Flatten().forward(np.ones(5))
    with pytest.raises(ValueError, match=r"Flatten.backward: dout must have shape \(2, 60\), got \(2, 59\)"):
        flat.backward(np.ones((2, 59)))


def test_flatten_backward_keeps_the_memory_order_of_its_input():
    """A pooled conv output is stored batch-last; dL/dx comes back in that order, with the right values."""
    rng = np.random.default_rng(3)
    z = MaxPool2D(2).forward(Conv2D(2, 3, 3, padding=1, rng=0).forward(rng.normal(size=(4, 2, 6, 6))))
    assert z.transpose(1, 2, 3, 0).flags.c_contiguous
    flat = Flatten()
    out = flat.forward(z)
    np.testing.assert_array_equal(out, np.ascontiguousarray(z).reshape(4, -1))
    dout = rng.normal(size=out.shape)
    dx = flat.backward(dout)
    np.testing.assert_array_equal(dx, dout.reshape(z.shape))
    assert dx.transpose(1, 2, 3, 0).flags.c_contiguous
    assert Flatten().forward(np.ones((2, 3, 4))) is not None           # a C-ordered input: a plain reshape back
    c_flat = Flatten()
    c_flat.forward(np.ones((2, 3, 4)))
    assert c_flat.backward(np.ones((2, 12))).flags.c_contiguous


def test_small_cnn_end_to_end_gradcheck():
    """Conv -> MaxPool -> Flatten, chained by hand: the pieces fit together."""
    from pyfadml.layers.activations import ReLU
    from pyfadml.layers.dense import Dense

    class Chain:
        def __init__(self):
            self.layers = [Conv2D(1, 2, 3, padding=1, rng=0), ReLU(), MaxPool2D(2), Flatten(), Dense(8, 3, rng=1)]

        def forward(self, x):
            for layer in self.layers:
                x = layer.forward(x)
            return x

        def backward(self, d):
            for layer in reversed(self.layers):
                d = layer.backward(d)
            return d

        def parameters(self):
            return [(f"{i}.{k}", layer.params[k], layer.grads[k])
                    for i, layer in enumerate(self.layers) for k in layer.params]

    rng = np.random.default_rng(3)
    errors = check_layer(Chain(), rng.normal(size=(2, 1, 4, 4)), rng=rng)
    assert max(errors.values()) < 1e-6, errors  # ReLU/max kinks may sit near a sample point: a looser bound
