"""The candle pattern ML platform's domain core (never imports Dagster or Litestar)."""
