"""Training: one model per pair x timeframe partition from the `labeled_windows` file.

`train.train_partition` is the entry point, calling in turn: `dataset` (model inputs,
labels and the split), `weights` (class weights), `fit` (fit and metrics) and
`mlflow_logging` (what a run logs and registers). `split` cuts the rows chronologically
with gaps, `models` holds the estimator wrappers and their registry, `evaluation` computes
the metrics and the plots, `tracking` talks to MLflow. Nothing here imports Dagster.
"""
