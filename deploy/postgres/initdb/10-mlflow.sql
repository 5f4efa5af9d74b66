-- The MLflow server's own database beside ferryml's platform DB (run once, by the postgres
-- image's entrypoint, when its data volume is empty).
CREATE DATABASE mlflow OWNER ferry;
