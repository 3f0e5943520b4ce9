"""MLflow, and nothing else, lives in this package; the rest of surveyless never imports it.

- `store`: where the work folder's tracking store is, and turning its failures into `StoreUnavailable`;
- `registry`: model versions, their descriptions and tags, the `champion` and `challenger` aliases, loading;
- `runs`: the runs a training, a scoring and an evaluation leave behind.

The store is a SQLite file inside the work folder, so no server has to run; point the MLflow UI at
it with `mlflow ui --backend-store-uri sqlite:///<work>/mlflow.db`.
"""
