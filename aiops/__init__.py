"""The `aiops` application: commands that wire connectors, the pipeline core and the models."""
