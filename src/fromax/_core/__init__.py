"""fromax's core: what every transformation is built on.

- ``_transformation``: the contract (``GradientTransformation``, ``chain``,
  ``apply_updates``), the same as optax's.
- ``_hyperparams``: hyperparameters as data (``scheduled_transformation``,
  ``TransformState``, ``hyperparams``, ``set_hyperparams``) and their ``Bounds``.
- ``_tree``: per-array maths lifted to pytrees (``map_arrays``), the dtype
  the maths runs in (``compute_dtype``) and moments in it
  (``zeros_in_compute_dtype``).
- ``_mask``: masks, one static bool per leaf.
- ``_numerics``: formulas several optimisers share (``bias_correction``,
  ``squared_norm``, ``safe_ratio``, ``divide_by_root``).

Nothing here imports the optimisers, the transforms or the application.
"""
