"""The search dashboard (`automl dashboard`) and the static report (`automl report`).

Installed, this folder is the package `automl.dashboard`:
- data.py: a study on disk -> pandas tables (the data step of every view; read-only SQL);
- figures.py: each view as a plain function, study -> plotly Figure;
- app.py: the Dash app (pages, live refresh, the leaderboard paged on the server);
- report.py: the figures as one offline HTML file.
It never imports torch or ray (a test checks): it reads studies with SQLite, Optuna's
distributions, pandas and plotly only.
"""
