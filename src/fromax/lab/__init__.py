"""The ``fromax`` command: an application built on the library, kept apart from it.

The command line (``_cli``, ``_commands``, ``_schedule_command``), the
training loop (``_train``), the bundled data sets (``_data``, ``data/``), the
models (``_models``), plots and the progress bar. ``import fromax`` loads
none of it; the console script points here.
"""
