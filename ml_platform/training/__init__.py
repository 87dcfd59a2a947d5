"""Training: one model per pair x timeframe partition from the `labeled_windows` file.

`train.train_partition` is the entry point; `split` cuts the rows chronologically with
gaps, `models` holds the estimator wrappers and their registry, `evaluation` computes the
metrics and the plots, `tracking` talks to MLflow. Nothing here imports Dagster.
"""
