"""The search dashboard (Dash/Plotly over studies/): not built yet.

Installed, this folder is the package `automl.dashboard`. It must never import torch or ray:
it reads studies through `automl.study`, which uses Optuna and pandas only.
"""
