"""fromax's core: what every transformation is built on.

- ``_transformation``: the contract (``GradientTransformation``, ``chain``,
  ``apply_updates``), the same as optax's.
- ``_hyperparams``: hyperparameters as data (``scheduled_transformation``,
  ``TransformState``, ``hyperparams``, ``set_hyperparams``) and their ``Bounds``.
- ``_tree``: per-array maths lifted to pytrees (``map_arrays``) and the dtype
  the maths runs in (``compute_dtype``).
- ``_mask``: masks, one static bool per leaf.

Nothing here imports the optimisers, the transforms or the application.
"""
