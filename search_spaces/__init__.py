"""The model families, one file each. Importing this package registers them all.

Installed, this folder is the package `automl.search_spaces`.
"""

from automl.search_spaces import autoencoder, cnn, conv1d, dbn, mlp, rbm, rnn, text_cnn

__all__ = ["autoencoder", "cnn", "conv1d", "dbn", "mlp", "rbm", "rnn", "text_cnn"]
