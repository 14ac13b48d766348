"""The model families, one file each, and the lookup of every registered family.

Importing this package registers the built-in families (each file ends with
`register_family_module(__name__)`), so its lookups below always include them, and the
families a user registered (automl.families.register_family). Installed, this folder is the
package `automl.search_spaces`.
"""

from automl.families import Family, lookup_family, registered_families
from automl.search_spaces import autoencoder, cnn, conv1d, dbn, mlp, rbm, rnn, text_cnn

__all__ = [
    "autoencoder",
    "available_families",
    "cnn",
    "conv1d",
    "dbn",
    "get_family",
    "mlp",
    "rbm",
    "rnn",
    "text_cnn",
]


def available_families() -> dict[str, Family]:
    """Every registered family by name: the built-in ones and the user's own."""
    return registered_families()


def get_family(name: str) -> Family:
    """A registered family; an unknown name raises ConfigError listing the valid ones."""
    return lookup_family(name)
