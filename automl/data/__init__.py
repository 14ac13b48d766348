"""Data loading: files on disk and in-memory objects become one `Dataset`.

Loaders only read and normalise containers; deciding what the data *is* (the decision-table row)
is `automl.task`'s job, and fitting scalers or vocabularies is `automl.preprocessing`'s.
One module per kind of data: images, tables, text, audio, series; `loading` picks the reader
for a path, `memory` for in-memory objects.
"""

from automl.data.dataset import MODALITIES, Dataset, Modality
from automl.data.loading import (
    SPLIT_FOLDER_NAMES,
    load_path,
    read_for_prediction,
    read_forecast_history,
)
from automl.data.memory import MODALITY_CHOICES, features_from_memory, from_memory
from automl.data.series import LAYOUTS
from automl.data.table_files import ReadOptions, TableReading, read_table
from automl.data.tables import TARGET_COLUMN_NAMES, resolve_target

__all__ = [
    "LAYOUTS",
    "MODALITIES",
    "MODALITY_CHOICES",
    "SPLIT_FOLDER_NAMES",
    "TARGET_COLUMN_NAMES",
    "Dataset",
    "Modality",
    "ReadOptions",
    "TableReading",
    "features_from_memory",
    "from_memory",
    "load_path",
    "read_for_prediction",
    "read_forecast_history",
    "read_table",
    "resolve_target",
]
