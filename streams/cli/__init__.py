"""The command line (``integrity``): one front-end per command, each calling the layers below it."""
