"""The lecture's demos as plain Python: state, training and inspection, no panel/bokeh imports.

Each module holds one section of the browser app's logic so that pytest can drive it natively:

* :mod:`pyfadml.demos.mlp`         backprop and decision boundaries of a small MLP on 2-D toy data (inside it:
                                   :mod:`~pyfadml.demos.mlp_inside`)
* :mod:`pyfadml.demos.conv`        the lecture's X and its kernel: convolution, ReLU, pooling step by step
* :mod:`pyfadml.demos.cnn`         a small CNN trained live on shapes or digits
* :mod:`pyfadml.demos.cnn_costs`   the lecture's demerits of CNN measured: data hunger, CNN against an MLP
* :mod:`pyfadml.demos.sequence`    sentiment (many-to-one), image captioning (one-to-many) and translation
                                   (many-to-many), each trained on its toy task
* :mod:`pyfadml.demos.gradients`   vanishing and exploding gradients: an RNN and an LSTM side by side (inside:
                                   :mod:`~pyfadml.demos.race_inside`)
* :mod:`pyfadml.demos.generative`  an autoencoder and a VAE trained side by side

Import the module you need (``from pyfadml.demos.mlp import MLPDemo``); nothing is imported eagerly here,
so opening one section in the browser does not pay for the others.
"""
