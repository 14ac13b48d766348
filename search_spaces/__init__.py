"""The model families, one file each, and the lookup of every registered family.

Importing this package registers the built-in families (each file ends with
`register_family_module(__name__)`), so its lookups, `get_family(name)` and
`available_families()`, always include them and the families a user registered
(automl.families.register_family). Installed, this folder is the
package `automl.search_spaces`.
"""

from automl.families import lookup_family as get_family
from automl.families import registered_families as available_families
from automl.search_spaces import (
    autoencoder,
    cnn,
    conv1d,
    dbn,
    fasttext,
    mlp,
    nbeats,
    rbm,
    rnn,
    rntn,
    smoothing,
    text_cnn,
)

__all__ = [
    "autoencoder",
    "available_families",
    "cnn",
    "conv1d",
    "dbn",
    "fasttext",
    "get_family",
    "mlp",
    "nbeats",
    "rbm",
    "rnn",
    "rntn",
    "smoothing",
    "text_cnn",
]
