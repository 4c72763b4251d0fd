"""The `ganforge` command line. One module per verb group; verbs call pipelines and training only."""
